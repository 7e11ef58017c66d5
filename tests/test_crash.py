"""Crash consistency and concurrent writers, with real processes: a `salesintel load` killed with SIGKILL at
random moments leaves the store either as it was or with the whole new load (data, rejects and its `loads`
row), and a rerun counts exactly what a clean load counts; a second process meets one clear sentence and
`--wait` (docs/ingestion.md, "Crashes and concurrent writers")."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from salesintel.ingest import load_file
from salesintel.store import Store

ROOT = Path(__file__).parent.parent
SALESINTEL = [sys.executable, "-m", "salesintel"]
LINES = 200_000  # a few hundred thousand order lines: the commit takes long enough to be hit


def _orders(path: Path, *, version: int, lines: int = LINES) -> Path:
    """An orders file; ``version`` 1 is the earlier export, 2 the later one: a tenth of the amounts changed,
    20,000 new lines, one earlier bad row corrected and new bad rows of its own."""
    rng = random.Random(7)
    out = ["order_id,line,customer_id,product_id,ordered_at,quantity,amount"]
    total = lines if version == 1 else lines + 20_000
    for i in range(total):
        amount = round(rng.uniform(1, 500), 2)
        if version == 2 and i % 10 == 0:
            amount += 1
        day = 1 + i % 28
        when = f"2024-{1 + i % 12:02d}-{day:02d}"
        if i % 50_000 == 7 and not (version == 2 and i == 7):  # bad rows; version 2 corrects the first
            when = "someday"
        if version == 2 and i % 70_001 == 11:
            amount = "lots"
        out.append(f"O{i // 3},{1 + i % 3},C{i % 5000},P{i % 300},{when},1,{amount}")
    path.write_text("\n".join(out) + "\n")
    return path


def _load(db: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SALESINTEL, "load", "orders", str(data), "--db", str(db), "--format", "csv", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(out: subprocess.CompletedProcess) -> tuple[int, int, int, int]:
    assert out.returncode == 0, out.stderr
    row = out.stdout.splitlines()[1].split(",")  # table,file,read,inserted,updated,unchanged,rejected,...
    return int(row[3]), int(row[4]), int(row[5]), int(row[6])


def _state(db: Path) -> tuple:
    """What a reader sees: orders (count and a hash of every row), every reject and every loads row (ids and
    times left out: they differ from run to run by design)."""
    con = duckdb.connect(str(db))
    try:
        orders = con.execute("SELECT count(*), sum(hash(o))::VARCHAR FROM orders o").fetchall()[0]
        rejects = con.execute(
            "SELECT source_file, line, column_name, reason, row_key, closed_by IS NULL AS open FROM rejects "
            "ORDER BY ALL"
        ).fetchall()
        loads = con.execute(
            "SELECT source_file, rows_read, inserted, updated, unchanged, rejected, content_sha256 FROM loads "
            "ORDER BY loaded_at"
        ).fetchall()
        linked = con.execute("SELECT count(*) FROM rejects r ANTI JOIN loads l ON r.load_id = l.load_id").fetchall()[0][
            0
        ]
    finally:
        con.close()
    assert linked == 0, "every reject belongs to a recorded load"
    return orders, rejects, loads


def test_a_killed_load_leaves_the_old_state_or_the_new_one(tmp_path: Path) -> None:
    old_file = _orders(tmp_path / "orders_2024.csv", version=1)
    new_file = _orders(tmp_path / "orders_2025.csv", version=2)
    base = tmp_path / "base.duckdb"
    assert _counts(_load(base, old_file)) == (LINES - 4, 0, 0, 4)
    old = _state(base)

    clean_db = tmp_path / "clean.duckdb"
    shutil.copy(base, clean_db)
    started = time.monotonic()
    clean = _counts(_load(clean_db, new_file))
    clean_seconds = time.monotonic() - started
    new = _state(clean_db)
    inserted, updated, unchanged, rejected = clean
    assert inserted > 0 and updated > 0 and unchanged > 0 and rejected == 8
    again = (0, 0, inserted + updated + unchanged, rejected)  # a rerun after the load committed
    assert len(new[2]) == 2 and len(new[1]) == len(old[1]) + rejected
    closed = [r for r in new[1] if r[0] == str(old_file) and not r[-1]]
    assert [(r[1], r[4]) for r in closed] == [(9, "O2, 2")]  # the corrected row closed its reject

    seed = random.randrange(1_000_000)  # a different moment each run; the seed and moments are printed
    rng = random.Random(seed)
    # random moments, one just before the end, and one the instant the summary is printed (after the commit,
    # before the process closes the file: the committed load must survive in DuckDB's write-ahead log)
    delays = [rng.uniform(0.2, clean_seconds * 0.7), clean_seconds * 0.93, None]
    seen = {"old": 0, "new": 0}
    for n, delay in enumerate(delays):
        db = tmp_path / f"crash{n}.duckdb"
        shutil.copy(base, db)
        proc = subprocess.Popen(
            [*SALESINTEL, "load", "orders", str(new_file), "--db", str(db), "--format", "csv"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if delay is None:
            proc.stdout.readline()
        else:
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        state = _state(db)
        assert state in (old, new), f"seed {seed}, killed after {delay} s: neither the old state nor the new one"
        which = "old" if state == old else "new"
        seen[which] += 1
        rerun = _counts(_load(db, new_file))
        assert rerun == (clean if which == "old" else again), (delay, which, rerun)
        assert _state(db)[0] == new[0]  # the data of a clean load, whatever the kill left
    assert seen["old"] and seen["new"], seen
    shown = ", ".join(f"{d:.2f} s" for d in delays[:-1])
    print(f"seed {seed}: clean load {clean_seconds:.1f} s; kills after {shown} and at the summary left {seen}")


def test_a_second_writer_is_told_to_wait_and_wait_works(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    data = tmp_path / "reps.csv"
    data.write_text("rep_id,name\nR1,Ann\n")
    assert _run("load", "reps", str(data), "--db", str(db)).returncode == 0
    holder = _hold(db, seconds=3)
    try:
        refused = _run("load", "reps", str(data), "--db", str(db))
        assert refused.returncode == 2
        assert refused.stderr.strip() == (
            f"error: the database {db} is in use by another salesintel process (a load or analysis); "
            f"wait for it or pass --wait SECONDS"
        )
        assert "PID" not in refused.stderr
        started = time.monotonic()
        waited = _run("load", "reps", str(data), "--db", str(db), "--wait", "30")
        assert waited.returncode == 0, waited.stderr
        assert time.monotonic() - started >= 1.0  # it did wait for the holder to let go
    finally:
        holder.kill()
        holder.wait()


def test_wait_gives_up_after_its_time(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    duckdb.connect(str(db)).close()
    holder = _hold(db, seconds=30)
    try:
        started = time.monotonic()
        out = _run("tables", "--wait=1.5", "--db", str(db))
        assert out.returncode == 2 and "still in use by another salesintel process" in out.stderr
        assert "after waiting 1.5 s" in out.stderr and 1.4 <= time.monotonic() - started < 15
    finally:
        holder.kill()
        holder.wait()


def test_two_loads_of_one_table_at_once_store_each_key_once(store, tmp_path: Path) -> None:
    """PostgreSQL takes writers concurrently: the second load of a table waits for the first to commit (a lock
    on the table inside the load's transaction), so no key is inserted twice and the counts add up."""
    if store.engine.name != "postgres":
        pytest.skip("a DuckDB file has one writing process at a time (the lock tests above)")
    files = [_orders(tmp_path / f"part{n}.csv", version=1 + n, lines=20_000) for n in range(2)]
    results: list = [None, None]

    def load_one(n: int) -> None:
        with Store.open(store.url) as own:  # another connection, as another process would have
            [results[n]] = load_file(own, files[n], table="orders")

    threads = [threading.Thread(target=load_one, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    orders = store.table("orders")
    keys = int(orders.select("order_id", "line").distinct().count().execute())
    assert keys == store.count("orders") == 40_000  # the second file's keys include the first's
    assert sum(r.inserted for r in results) == store.count("orders")
    assert store.count("loads") == 2


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SALESINTEL, *args], capture_output=True, text=True, timeout=120)


def _hold(db: Path, *, seconds: float) -> subprocess.Popen:
    """Another process that opens the DuckDB file (taking its lock) and keeps it for ``seconds``."""
    code = textwrap.dedent(
        f"""
        import sys, time, duckdb
        con = duckdb.connect({str(db)!r})
        print("holding", flush=True)
        time.sleep({seconds})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_a_process_killed_while_spilling_leaves_no_spill_files_behind(tmp_path: Path) -> None:
    """A process killed while DuckDB spills (out of memory, or stopped) leaves its spill files, which DuckDB
    does not remove when the file is opened again; the next salesintel process to open it does."""
    db = tmp_path / "spill.duckdb"
    Store.open(str(db)).close()
    spilling = textwrap.dedent(
        f"""
        from salesintel.store import Store
        store = Store.open({str(db)!r})
        store.con.raw_sql("SET memory_limit = '20MB'; SET threads = 1")
        store.con.raw_sql(
            "SELECT count(*) FROM (SELECT md5(i::VARCHAR) AS m FROM range(20000000) t(i) ORDER BY m)"
        ).fetchall()
        """
    )
    process = subprocess.Popen([sys.executable, "-c", spilling])
    folder = Path(f"{db}.tmp")
    try:
        deadline = time.monotonic() + 120
        while not list(folder.glob("duckdb_temp_*")):
            assert process.poll() is None and time.monotonic() < deadline, "the query never spilled"
            time.sleep(0.05)
        time.sleep(0.3)  # more than one file written
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert list(folder.glob("duckdb_temp_*"))  # what the kill left
    opened = subprocess.run(
        [*SALESINTEL, "runs", "--db", str(db)], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in opened.stderr, opened.stderr
    assert not list(folder.glob("duckdb_temp_*"))
