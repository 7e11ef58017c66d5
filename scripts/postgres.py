"""Start (or stop) a throw-away PostgreSQL server for tests, CI and trying salesintel on PostgreSQL.

    python scripts/postgres.py start DIR [--port 55432]   # prints the database URL
    python scripts/postgres.py stop DIR

The server listens on 127.0.0.1 only, trusts local connections (a test server: never put real data in it)
and keeps everything under DIR. As root, ``initdb`` and the server run as the ``postgres`` user.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def binary(name: str) -> str | None:
    """The PostgreSQL program ``name`` (newest installed version first), or None."""
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


def available() -> bool:
    return binary("initdb") is not None and binary("pg_ctl") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start(directory: Path, port: int | None = None) -> str:
    """Initialise (if needed) and start a server in ``directory``; returns its URL."""
    directory = directory.resolve()
    data, sock = directory / "data", directory / "sock"
    port = port or free_port()
    directory.mkdir(parents=True, exist_ok=True)
    sock.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        shutil.chown(sock, "postgres")
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_owner(
                [binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]
            ),
            check=True,
            capture_output=True,
        )
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} -c fsync=off"
    subprocess.run(
        _as_owner(
            [binary("pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"), "-w", "-o", options, "start"]
        ),
        check=True,
        capture_output=True,
    )
    (directory / "port").write_text(str(port))
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def stop(directory: Path) -> None:
    data = directory.resolve() / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_owner([binary("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), check=False, capture_output=True
        )


def create_database(url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` on the server at ``url`` (dropping an older one), empty or a copy of the
    database ``template`` (which nobody may be connected to); returns its URL."""
    import psycopg

    copy_of = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"{copy_of}')
    return url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.action == "start":
        if not available():
            sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
        print(start(args.directory, args.port))
    else:
        stop(args.directory)


if __name__ == "__main__":
    main()
