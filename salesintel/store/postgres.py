"""PostgreSQL: one server for a team. Bulk writes go through COPY; files are validated in a local DuckDB.

The Ibis connection runs in autocommit mode; :meth:`PostgresEngine.transaction` opens a real transaction
block (psycopg's), inside which every statement of this engine runs.
"""

from __future__ import annotations

import io
import uuid
from contextlib import contextmanager

import pyarrow as pa

from salesintel.errors import UserInputError
from salesintel.lazy import lazy
from salesintel.store.compiled import keep_compiled
from salesintel.store.engine import Engine, safe_url

ibis = lazy("ibis")
pacsv = lazy("pyarrow.csv")

COPY_CHUNK_ROWS = 200_000


class PostgresEngine(Engine):
    name = "postgres"

    def __init__(self, url: str) -> None:
        try:
            self.con = ibis.connect(url.replace("postgres://", "postgresql://", 1))
        except ImportError:  # Ibis raises ImportError when psycopg is missing
            raise UserInputError("PostgreSQL support needs the extra: pip install 'salesintel[postgres]'") from None
        except Exception as exc:  # psycopg.OperationalError: server down, bad password, no such database
            reason = str(exc).strip().splitlines()[0]
            secret = _password(url)
            reason = reason.replace(secret, "***") if secret else reason  # never echo a password back
            raise UserInputError(f"cannot connect to {safe_url(url)}: {reason}") from None
        self.con.raw_sql("SET TIME ZONE 'UTC'")
        keep_compiled(self.con)  # a command does not compile again what an earlier one did
        _analyze_cached_tables(self.con)

    def execute(self, sql: str, params=()) -> None:
        with self.con.con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))

    def scalar(self, sql: str, params=()) -> object:
        with self.con.con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))
            return cur.fetchall()[0][0]

    def regex_sql(self, column_sql: str) -> str:
        return f"({column_sql} ~ ?)"

    @contextmanager
    def transaction(self):
        with self.con.con.transaction():
            yield

    def lock_for_write(self, name: str) -> None:
        # SHARE ROW EXCLUSIVE conflicts with itself and with every write, not with SELECT: two loads of one
        # table run one after the other (else both could insert a key neither saw), analyses keep reading
        self.execute(f"LOCK TABLE {self.quote(name)} IN SHARE ROW EXCLUSIVE MODE")

    def append_arrow(self, name: str, data: pa.Table) -> None:
        """COPY the rows in as CSV: Ibis's insert of an in-memory table sends them one by one (50x slower).

        Arrow's CSV writer quotes every string and writes a null as an unquoted empty field, which is exactly
        COPY's CSV convention, so an empty string stays an empty string; floats are written in the shortest
        form that reads back to the same double.
        """
        if data.num_rows == 0:
            return
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        with self.con.con.cursor() as cur, cur.copy(f'COPY "{name}" ({cols}) FROM STDIN WITH (FORMAT csv)') as copy:
            for start in range(0, data.num_rows, COPY_CHUNK_ROWS):
                sink = io.BytesIO()
                pacsv.write_csv(data.slice(start, COPY_CHUNK_ROWS), sink, options)
                copy.write(sink.getvalue())

    def stage(self, data: pa.Table):
        """A temporary table created empty with the data's schema, then filled by COPY."""
        name = f"_stage_{uuid.uuid4().hex[:12]}"
        staged = self.con.create_table(name, schema=ibis.Schema.from_pyarrow(data.schema), temp=True)
        self.append_arrow(name, data)
        return staged


def _analyze_cached_tables(con) -> None:
    """Give the temporary tables behind Ibis's ``cache()`` statistics. PostgreSQL never analyses temporary
    tables by itself; blind, its planner turned the rules' semi-join into a cross product that filled the
    disk at 1M order lines. (Ibis's private hook; the ibis-framework pin keeps it stable.)"""
    create = con._create_cached_table

    def create_and_analyze(name, expr):
        table = create(name, expr)
        con.raw_sql(f'ANALYZE "{name}"')
        return table

    con._create_cached_table = create_and_analyze


def _password(url: str) -> str | None:
    """The password a PostgreSQL URL carries (user:password@ or ?password=), to keep it out of messages."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    return parts.password or (parse_qs(parts.query).get("password") or [None])[0]
