"""One exception family. Every front end translates these in one place: the CLI (one line and an exit code,
see ``salesintel.cli``), later the API. Exit codes belong to the shells, not to these classes."""

from __future__ import annotations


class SalesIntelError(Exception):
    """Root of every error salesintel raises on purpose; the message is one sentence a user can act on."""


class UserInputError(SalesIntelError, ValueError):
    """The user asked for something that cannot be done as asked (bad option, bad file)."""


class UnknownTable(UserInputError, LookupError):
    """A table name that is not in the schema."""


class UnreadableFile(UserInputError):
    """A file that cannot be read as the format it claims (encoding, not CSV, missing column)."""


class MappingError(UserInputError):
    """A mapping file that is malformed or refers to columns the source does not have."""


class TooManyRejects(SalesIntelError):
    """More rows were refused than --max-reject-rate allows (the good rows are still stored)."""


class NothingLoaded(SalesIntelError):
    """Every row of a file was refused."""


class InsufficientData(SalesIntelError, ValueError):
    """Too little data for a statistic or model to mean anything."""


class NotFitted(SalesIntelError, RuntimeError):
    """A model was used before it was fitted."""


class NotFound(SalesIntelError, LookupError):
    """A task, run or result that does not exist."""


class OutputMismatch(SalesIntelError):
    """An analysis returned a result that does not match its declaration (a bug in the analysis)."""


class StoreBusy(SalesIntelError):
    """Another process holds the database."""
