"""The salesintel command line: a thin shell over the library.

Errors are translated here, in one place: a salesintel error (bad input, not found ...) prints one line and
exits 2; anything unexpected prints one line naming what failed and exits 1; ``--debug`` (anywhere on the
command line) prints the traceback before that line, with the same exit code. ``--wait SECONDS`` (anywhere
too) waits that long for a database another salesintel process holds ($SALESINTEL_WAIT).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

app = typer.Typer(
    name="salesintel",
    help="Sales and customer intelligence on your own data.\n\nExample: salesintel demo && salesintel show profiles"
    "\n\nAdd --debug to any command to see the traceback of an unexpected error, and --wait SECONDS to wait"
    " that long for a database another salesintel process (a load or analysis) holds. SALESINTEL_MEMORY_LIMIT=8GB"
    " caps the memory of the embedded DuckDB (default 80% of the machine; the rest spills to disk)."
    " SALESINTEL_SQL_CACHE=off stops keeping compiled statements for the next command (default folder"
    " ~/.cache/salesintel/sql; a path keeps them there).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

EXIT_USER_ERROR = 2
EXIT_UNEXPECTED = 1
_DEBUG = False


def _register_commands() -> None:
    from salesintel.cli import (  # noqa: F401 - register on import
        analysis_commands,
        data_commands,
        person_commands,
        task_commands,
    )


def fail_run(*records) -> NoReturn:
    """Runs that failed: one line each and exit 1 (with --debug, each one's traceback first). Running out of
    memory is said as such; under a limit the user set (SALESINTEL_MEMORY_LIMIT) it exits 2, as input of
    theirs does."""
    from salesintel.config import memory_limit
    from salesintel.store.duckdb import out_of_memory

    memory = [out_of_memory(r.error) if r.error is not None else None for r in records]
    for record, sentence in zip(records, memory):
        if _DEBUG and record.error is not None:
            _traceback(record.error)
        hint = f"; run salesintel analyze {record.analysis.replace('_', '-')} --debug for the traceback"
        _say(f"error: {record.analysis} failed: {sentence or record.note}{'' if sentence or _DEBUG else hint}")
    sys.exit(EXIT_USER_ERROR if all(memory) and memory_limit() else EXIT_UNEXPECTED)


def fail_if_any_failed(records) -> None:
    """After a run of several analyses (each kept with its status): exit as :func:`fail_run` when any failed."""
    failed = [r for r in records if r.status == "failed"]
    if failed:
        fail_run(*failed)


def main() -> None:
    """Console entry point: run the app, turning every error into one clear line and an exit code."""
    global _DEBUG
    if "--debug" in sys.argv[1:]:
        _DEBUG = True
        sys.argv.remove("--debug")
    _take_wait(sys.argv)
    try:
        _register_commands()
        app()
    except KeyboardInterrupt:
        _say("interrupted: the step that had not finished stored nothing (a load keeps the tables it completed)")
        sys.exit(130)
    except Exception as exc:
        from salesintel.errors import SalesIntelError

        if _DEBUG:  # the traceback, then the same line and exit code as without --debug
            _traceback(exc)
        if isinstance(exc, SalesIntelError):
            _say(f"error: {exc}")
            sys.exit(EXIT_USER_ERROR)
        from salesintel.store.duckdb import out_of_memory

        if (sentence := out_of_memory(exc)) is not None:  # the machine, not a bug: no traceback to ask for
            from salesintel.config import memory_limit

            _say(f"error: {sentence}")
            sys.exit(EXIT_USER_ERROR if memory_limit() else EXIT_UNEXPECTED)  # a limit the user set: their input
        text = str(exc).splitlines()[0] if str(exc) else ""
        hint = "" if _DEBUG else "; run again with --debug for the traceback"
        command = " ".join(sys.argv[1:2]) or "salesintel"
        _say(f"error: {command} failed: {type(exc).__name__}{': ' + text if text else ''}{hint}")
        sys.exit(EXIT_UNEXPECTED)


def _traceback(exc: BaseException) -> None:
    import traceback

    traceback.print_exception(exc, file=sys.stderr)


def _take_wait(argv: list[str]) -> None:
    """Move ``--wait SECONDS`` (or ``--wait=SECONDS``) from the command line to $SALESINTEL_WAIT, which every
    command's store opening reads (salesintel.config.open_wait)."""
    import os

    from salesintel.config import ENV_WAIT

    for i, arg in enumerate(argv[1:], start=1):
        if arg == "--wait" and i + 1 < len(argv):
            os.environ[ENV_WAIT] = argv[i + 1]
            del argv[i : i + 2]
            return
        if arg.startswith("--wait="):
            os.environ[ENV_WAIT] = arg.split("=", 1)[1]
            del argv[i]
            return


def _say(text: str) -> None:
    from salesintel.cli.output import message

    message(text)
