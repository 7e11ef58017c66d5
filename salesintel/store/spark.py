"""Spark: data past one machine. Tables are Parquet in a warehouse folder (or a cluster's catalog).

URLs:
- ``spark://local[2]`` (or ``local[*]``): a Spark session on this machine; ``?warehouse=PATH`` says where
  the tables live (default ``./salesintel-warehouse``), with its catalog (an embedded Derby metastore) beside
  them, so a later session finds what an earlier one stored;
- ``sc://HOST:PORT``: Spark Connect to a running cluster, whose catalog holds the tables.
- ``&database=NAME`` (or ``?database=NAME``) keeps the store in its own Spark database (namespace),
  created when missing; the default is Spark's ``default``.

Parquet tables have no DELETE, UPDATE or transactions. Deleting or changing rows is therefore a documented
rewrite: the rows that stay are materialised (``localCheckpoint``) and written over the table. A load into
Spark is not atomic: a crash in the middle can leave part of it (docs/scale.md).
A Spark session is one per process: a store opened on a second warehouse in the same process is refused.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

import pyarrow as pa

from salesintel.errors import UserInputError
from salesintel.lazy import lazy
from salesintel.store.compiled import keep_compiled
from salesintel.store.engine import Engine, bare_name

ibis = lazy("ibis")

JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
URL_KEYS = {"warehouse", "database"}


def _session(url: str):
    """The process's Spark session for ``url``, created on first use."""
    base, _, query = url.partition("?")
    unknown = sorted(set(parse_qs(query)) - URL_KEYS)
    if unknown:
        raise UserInputError(
            f"unknown setting {', '.join(unknown)} in the Spark URL; it takes {', '.join(sorted(URL_KEYS))}"
        )
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        raise UserInputError("Spark support needs the extra: pip install 'salesintel[spark]'") from None
    if url.startswith("sc://"):
        try:
            return SparkSession.builder.remote(base).getOrCreate(), None
        except ImportError as exc:  # Spark Connect's client needs grpcio and friends
            raise UserInputError(f"Spark Connect needs pip install 'salesintel[spark]' ({exc})") from None
    master = base.removeprefix("spark://")
    warehouse = Path(parse_qs(query).get("warehouse", ["salesintel-warehouse"])[0]).resolve()
    active = SparkSession.getActiveSession()
    if active is not None:
        if active.conf.get("spark.sql.warehouse.dir").removeprefix("file:") != str(warehouse):
            raise UserInputError(
                f"this process already has a Spark session on {active.conf.get('spark.sql.warehouse.dir')}; "
                "one Spark warehouse per process"
            )
        return active, warehouse
    warehouse.mkdir(parents=True, exist_ok=True)
    # Spark 4 needs Java 17 or later; a newer JDK beside it may not work with Spark's Hadoop libraries
    if "JAVA_HOME" not in os.environ and JAVA_17.exists():
        os.environ["JAVA_HOME"] = str(JAVA_17)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    metastore = f"jdbc:derby:;databaseName={warehouse / 'metastore_db'};create=true"
    session = (
        SparkSession.builder.master(master or "local[2]")
        .appName("salesintel")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")  # small local data: fewer, larger tasks (about 2x faster)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", metastore)
        .config("spark.driver.extraJavaOptions", f"-Dderby.stream.error.file={warehouse / 'derby.log'}")
        .enableHiveSupport()
        .getOrCreate()
    )
    # failures reach the caller as exceptions; Spark's own log would print each one again as a page of JSON
    session.sparkContext.setLogLevel("OFF")
    return session, warehouse


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, url: str) -> None:
        self.session, self.warehouse = _session(url)
        database = parse_qs(url.partition("?")[2]).get("database", [None])[0]
        if database:
            if not database.replace("_", "").isalnum():
                raise UserInputError(f"a Spark database name is letters, digits and _, not {database!r}")
            self.session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`").collect()
            self.session.catalog.setCurrentDatabase(database)
        self.con = ibis.pyspark.connect(self.session)
        keep_compiled(self.con)  # a command does not compile again what an earlier one did

    # -- statements --------------------------------------------------------------------------------
    def execute(self, sql: str, params=()) -> None:
        self.session.sql(sql, args=list(params) or None).collect()

    def scalar(self, sql: str, params=()) -> object:
        return self.session.sql(sql, args=list(params) or None).collect()[0][0]

    @contextmanager
    def transaction(self):
        yield  # Parquet tables have no transactions (module docstring)

    def add_column_sql(self, table: str, column: str, sql_type: str) -> str:
        return f"ALTER TABLE `{table}` ADD COLUMNS (`{column}` {sql_type})"  # Spark's spelling: COLUMNS (...)

    def regex_sql(self, column_sql: str) -> str:
        return f"({column_sql} RLIKE ?)"

    def text_sql(self, column_sql: str) -> str:
        return f"CAST({column_sql} AS STRING)"

    def quote(self, name: str) -> str:
        return f"`{name}`"

    # -- rows --------------------------------------------------------------------------------------
    def delete_where(self, name: str, where: str, params=()) -> None:
        kept = self.session.sql(f"SELECT * FROM `{name}` WHERE NOT COALESCE(({where}), false)", args=list(params))
        self._overwrite(name, kept)

    def update_where(self, name: str, assign: dict[str, object], where: str, params=()) -> None:
        table = self.session.table(name)
        cols = []
        values = []
        for col in table.columns:
            if col in assign:
                cols.append(f"CASE WHEN COALESCE(({where}), false) THEN ? ELSE `{col}` END AS `{col}`")
                values += [*params, assign[col]]
            else:
                cols.append(f"`{col}`")
        # the marks are positional: each CASE takes the WHERE's values, then its new value, in column order
        self._overwrite(name, self.session.sql(f"SELECT {', '.join(cols)} FROM `{name}`", args=values))

    def delete_matching(self, name: str, staged, key: tuple[str, ...]) -> None:
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
        kept = self.session.sql(f"SELECT t.* FROM `{name}` t LEFT ANTI JOIN `{bare_name(staged)}` s ON {on}")
        self._overwrite(name, kept)

    def _overwrite(self, name: str, frame) -> None:
        """Write ``frame`` over table ``name``; materialised first, as Spark cannot overwrite what it reads."""
        frame.localCheckpoint().write.mode("overwrite").saveAsTable(name)

    # -- bulk writes -------------------------------------------------------------------------------
    def append_arrow(self, name: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        target = self.session.table(name).schema
        self.session.createDataFrame(data, schema=target).write.insertInto(name)

    def _sql(self, expr) -> str:
        """The Spark SQL of an Ibis expression, its in-memory tables registered first."""
        self.con._run_pre_execute_hooks(expr)
        return self.con.compile(expr)

    def _frame(self, expr):
        return self.session.sql(self._sql(expr))

    def append_expr(self, name: str, expr) -> None:
        frame = self._frame(expr)
        frame.select(*self.session.table(name).columns).write.insertInto(name)

    def stage(self, data: pa.Table):
        name = f"_stage_{uuid.uuid4().hex[:12]}"
        frame = self.session.createDataFrame(data if data.num_rows else [], schema=_spark_schema(data.schema))
        frame.localCheckpoint().createOrReplaceTempView(name)
        return self.con.table(name)

    def stage_expr(self, expr):
        name = f"_stage_{uuid.uuid4().hex[:12]}"
        self._frame(expr).localCheckpoint().createOrReplaceTempView(name)
        return self.con.table(name)

    def drop_stage(self, staged) -> None:
        self.session.catalog.dropTempView(bare_name(staged))

    def replace_view(self, view: str, expr) -> None:
        self.session.sql(f"CREATE OR REPLACE VIEW `{view}` AS {self._sql(expr)}").collect()

    def close(self) -> None:
        pass  # the session is the process's; it stops with the process


def _spark_schema(schema: pa.Schema):
    from ibis.backends.pyspark.datatypes import PySparkSchema

    return PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(schema))
