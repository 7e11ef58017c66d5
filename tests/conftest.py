"""Shared fixtures: a real store on every engine the machine has (a DuckDB file, a PostgreSQL server started
for the session), the demo company, files in every format.

The ``store`` fixture runs each test on DuckDB and on PostgreSQL. PostgreSQL comes from
``SALESINTEL_TEST_POSTGRES`` (the URL of a server to create test databases on) or is started from the
machine's binaries (``scripts/postgres.py``); when neither is there its cases are skipped, unless
``SALESINTEL_REQUIRE_ENGINES`` names it (CI does), and then they fail. Slow real-data cases (marked
``slow``) run on DuckDB only.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from salesintel.demo import load_order, write_demo
from salesintel.ingest import load_file
from salesintel.store import Store

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import postgres as postgres_service  # noqa: E402 - scripts/ is not a package

# compiled statements are kept in a folder of the session's own, not the user's cache, and every statement
# found kept is compiled again and compared with it (salesintel/store/compiled.py): the whole suite, its CLI
# subprocesses included, checks the cache
_SQL_CACHE = tempfile.mkdtemp(prefix="salesintel-sql-")
atexit.register(shutil.rmtree, _SQL_CACHE, ignore_errors=True)
os.environ["SALESINTEL_SQL_CACHE"] = _SQL_CACHE
os.environ["SALESINTEL_SQL_CACHE_VERIFY"] = "1"

# Spark joins the matrix when asked for (make test-spark): a local session is slow to start and slow on small data
SPARK = "spark" in os.environ.get("SALESINTEL_TEST_ENGINES", "")
ENGINES = ("duckdb", "postgres", *(("spark",) if SPARK else ()))


def _required(engine: str) -> bool:
    return engine in os.environ.get("SALESINTEL_REQUIRE_ENGINES", "").replace(",", " ").split()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server to create test databases on."""
    url = os.environ.get("SALESINTEL_TEST_POSTGRES")
    if url:
        yield url
        return
    if not postgres_service.available():
        if _required("postgres"):
            pytest.fail("SALESINTEL_REQUIRE_ENGINES names postgres but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed here (set SALESINTEL_TEST_POSTGRES to use a server)")
    # outside pytest's private temp folder: the server runs as the postgres user and must reach it
    directory = Path(tempfile.mkdtemp(prefix="salesintel-pg-"))
    try:
        yield postgres_service.start(directory)
    finally:
        postgres_service.stop(directory)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_warehouse() -> Path:
    """The session's Spark warehouse (one Spark session per process); each store gets its own database."""
    directory = Path(tempfile.mkdtemp(prefix="salesintel-spark-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def engine_url(engine: str, tmp_path: Path, request) -> str:
    """A fresh, empty database on ``engine``."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    if engine == "duckdb":
        return str(tmp_path / "test.duckdb")
    if engine == "spark":
        return f"spark://local[2]?warehouse={request.getfixturevalue('spark_warehouse')}&database={name}"
    return postgres_service.create_database(request.getfixturevalue("postgres_server"), name)


@pytest.fixture(params=ENGINES)
def store(request, tmp_path: Path) -> Store:
    """An empty store on each engine."""
    if request.param != "duckdb" and request.node.get_closest_marker("slow"):
        pytest.skip("slow real-data cases run on DuckDB only")
    s = Store.open(engine_url(request.param, tmp_path, request))
    yield s
    s.close()


@pytest.fixture
def duckdb_store(tmp_path: Path) -> Store:
    """An empty DuckDB store, for what only an embedded file has (locking, a path beside it)."""
    s = Store.open(str(tmp_path / "test.duckdb"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The default demo company (10,000 customers, seed 42) as CSV files with truth.json."""
    directory = tmp_path_factory.mktemp("demo")
    write_demo(directory)
    return directory


@pytest.fixture(scope="session")
def truth(demo_dir: Path) -> dict:
    return json.loads((demo_dir / "truth.json").read_text())


@pytest.fixture(scope="session")
def demo_store(demo_dir: Path, tmp_path_factory) -> Store:
    """The demo company loaded through the real ingestion path into a DuckDB file."""
    s = Store.open(str(tmp_path_factory.mktemp("demodb") / "demo.duckdb"))
    for name in load_order():
        load_file(s, demo_dir / f"{name}.csv", table=name)
    yield s
    s.close()


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"))
    return path
