"""The CLI as a user runs it: a real process, real files, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import write_csv


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "salesintel", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_commands_with_examples() -> None:
    out = run("--help")
    assert out.returncode == 0 and "load" in out.stdout and "analyze" in out.stdout
    assert "Example:" in run("load", "--help").stdout


def test_load_check_export_round_trip(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    data = write_csv(tmp_path / "reps.csv", "rep_id,name,role\nR1,Ann,rep\nR2,Bob,boss\n")
    out = run("load", "reps", str(data), "--db", db, "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].startswith("reps,reps.csv,2,1,0,0,1")
    check = run("check", "--db", db, "--format", "json")
    assert '"check":"rejected"' in check.stdout
    target = tmp_path / "rejects.csv"
    exp = run("export", "rejects", "--db", db, "-o", str(target))
    assert exp.returncode == 0 and "boss" in target.read_text()


def test_user_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "o.csv", "order_id\n1\n")
    for args in (
        ["load", "orders", str(bad)],
        ["load", "nosuchtable", str(bad)],
        ["load", "orders", str(tmp_path / "missing.csv")],
        ["analyze", "--as-of", "yesterday"],
    ):
        out = run(*args, "--db", str(tmp_path / "e.duckdb"))
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "Traceback" not in out.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    out = run("demo", "--customers", "600", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "report.html").stat().st_size > 100_000
    assert "profiles" in out.stdout
    show = run("show", "profiles", "--result", "segments", "--db", str(db), "--format", "csv")
    assert show.returncode == 0 and show.stdout.startswith("rfm_segment,customers")
