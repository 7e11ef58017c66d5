"""The salesintel command line: a thin shell over the library. Errors become one line and exit code 2."""

from __future__ import annotations

import sys

import typer

from salesintel.errors import SalesIntelError

app = typer.Typer(
    name="salesintel",
    help="Sales and customer intelligence on your own data.\n\nExample: salesintel demo && salesintel show profiles",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _register_commands() -> None:
    from salesintel.cli import analysis_commands, data_commands, health_commands  # noqa: F401 - register on import


def main() -> None:
    """Console entry point: run the app, turning salesintel errors into one clear line."""
    _register_commands()
    try:
        app()
    except SalesIntelError as exc:
        from salesintel.cli.output import message

        message(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
