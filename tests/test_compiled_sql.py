"""Statements compiled once and kept across processes (salesintel/store/compiled.py).

The whole suite runs with SALESINTEL_SQL_CACHE_VERIFY set (tests/conftest.py): every statement found kept
is compiled again and compared. These tests pin what that cannot: that a kept statement is found by a
second process at all, that a statement of another shape never is, and that the folder is read safely.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import ibis
import pytest

from salesintel.store import compiled
from salesintel.store.compiled import CachedCompiler, statement_shape

ROOT = Path(__file__).parent.parent
RETAIL = ROOT / "tests" / "data" / "online_retail_sample.csv"


def _connect(folder: Path | None):
    con = ibis.duckdb.connect()
    con.compiler = CachedCompiler(type(con).compiler, folder)
    return con


def _table(con, name: str):
    rows = "(VALUES (1, 2.5::DOUBLE, 'a'), (2, 4.0, NULL)) t(n, x, s)"
    con.raw_sql(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM {rows}')
    return con.table(name)


def test_a_statement_of_the_same_shape_over_other_tables_is_read_back_with_their_names(tmp_path: Path) -> None:
    con = _connect(tmp_path)
    first, second = _table(con, "_chk_00000000aa"), _table(con, "_chk_00000000bb")

    def expr(t):
        kept = t.filter(t.n > 1)
        return kept.aggregate(total=kept.x.sum(), rows=kept.count())

    assert expr(first).to_pyarrow().to_pylist() == [{"total": 4.0, "rows": 1}]
    con.raw_sql('UPDATE "_chk_00000000bb" SET x = x * 10')
    assert expr(second).to_pyarrow().to_pylist() == [{"total": 40.0, "rows": 1}]
    assert con.compiler.hits == 1 and '"_chk_00000000bb"' in con.compile(expr(second))


@pytest.mark.parametrize(
    "other",
    [
        lambda t: t.filter(t.n > 2),  # another literal
        lambda t: t.filter(t.n > 1.0),  # another literal type
        lambda t: t.filter(t.n >= 1),  # another operation
        lambda t: t.filter(t.x > 1),  # another column
        lambda t: t.filter(t.n > 1).select("n"),  # another projection
        lambda t: t.filter(t.n.cast("float64") > 1),  # another type
        lambda t: t.filter(t.s == "a"),
        lambda t: t.filter(t.s == "a "),  # a value that differs only in a space
    ],
)
def test_a_statement_of_another_shape_is_compiled_afresh(tmp_path: Path, other) -> None:
    con = _connect(tmp_path)
    t = _table(con, "_chk_00000000aa")
    kept = con.compile(t.filter(t.n > 1))
    assert con.compile(other(t)) != kept
    assert con.compiler.hits == 0


def test_a_second_process_reads_what_the_first_one_compiled(tmp_path: Path) -> None:
    """Two loads of one export, each in a process of its own: the second compiles next to nothing and stores
    the same rows (its kept statements are compared with fresh compiles: the verify setting)."""
    script = (
        "import json, sys\n"
        "from salesintel.ingest import load_file\n"
        "from salesintel.store import Store\n"
        "s = Store.open(sys.argv[1])\n"
        "load_file(s, sys.argv[2], mapping=sys.argv[3])\n"
        "c = s.con.compiler\n"
        "rows = {t: s.count(t) for t in ('products', 'customers', 'orders', 'rejects')}\n"
        "print(json.dumps({'hits': c.hits, 'misses': c.misses, 'rows': rows}))\n"
    )
    env = {**os.environ, "SALESINTEL_SQL_CACHE": str(tmp_path / "sql"), "SALESINTEL_SQL_CACHE_VERIFY": "1"}
    runs = []
    for i in range(2):
        mapping = ROOT / "examples" / "online_retail.yaml"
        cmd = [sys.executable, "-c", script, str(tmp_path / f"s{i}.duckdb"), str(RETAIL), str(mapping)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    assert runs[0]["misses"] > 10
    # nothing is compiled again, the insert of the rejects (which name their load) included
    assert runs[1]["misses"] == 0 and runs[1]["hits"] == runs[0]["hits"] + runs[0]["misses"]
    assert runs[1]["rows"] == runs[0]["rows"] and runs[0]["rows"]["orders"] > 0


def test_a_folder_others_can_write_to_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    con = _connect(folder)
    assert con.compiler._folder is not None
    (folder / compiled._versions_tag()).chmod(0o777)
    assert _connect(folder).compiler._folder is None  # kept in memory only


class _Planted:
    def __reduce__(self):
        return (os.system, ("touch planted",))


def test_a_kept_file_that_would_run_code_is_refused_and_compiled_afresh(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    con = _connect(tmp_path / "sql")
    t = _table(con, "_chk_00000000aa")
    expr = t.filter(t.n > 1)
    key, _ = statement_shape(expr, None, type(con.compiler._compiler).__qualname__)
    folder = con.compiler._folder
    (folder / key).write_bytes(pickle.dumps(_Planted()))
    assert con.compile(expr) == ibis.duckdb.connect().compile(expr)
    (folder / key).write_bytes(pickle.dumps((key, ("_chk_00000000aa",), pickle.dumps(_Planted()))))
    fresh = _connect(tmp_path / "sql")
    assert fresh.compile(expr) == ibis.duckdb.connect().compile(expr)
    assert not (tmp_path / "planted").exists() and fresh.compiler.hits == 0


def test_a_kept_file_copied_over_another_statement_s_is_not_taken_for_it(tmp_path: Path) -> None:
    con = _connect(tmp_path)
    t = _table(con, "_chk_00000000aa")
    web, shop = t.mutate(channel=ibis.literal("web")), t.mutate(channel=ibis.literal("shop"))
    con.compile(web), con.compile(shop)
    qualname = type(con.compiler._compiler).__qualname__
    key_web, key_shop = (statement_shape(e, None, qualname)[0] for e in (web, shop))
    folder = con.compiler._folder
    (folder / key_web).write_bytes((folder / key_shop).read_bytes())
    fresh = _connect(tmp_path)
    assert "'web'" in fresh.compile(web) and fresh.compiler.hits == 0


def test_what_does_not_write_itself_out_exactly_is_compiled_each_time(tmp_path: Path) -> None:
    con = _connect(tmp_path)
    t = _table(con, "_chk_00000000aa")

    @ibis.udf.scalar.python
    def twice(x: int) -> int:
        return 2 * x

    assert con.execute(t.select(y=twice(t.n)).y.sum()) == 6
    assert con.execute(t.select(y=twice(t.n)).y.sum()) == 6
    assert con.compiler.hits == 0


def test_the_folder_keeps_the_most_recently_used_files(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"k{i}").write_bytes(b"x")
        os.utime(tmp_path / f"k{i}", (1000 + i, 1000 + i))
    compiled._prune(tmp_path, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k3", "k4", "k5"]
