"""The CLI as a user runs it: a real process, real files, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write_csv


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env} if env else None
    return subprocess.run(
        [sys.executable, "-m", "salesintel", *args], capture_output=True, text=True, cwd=cwd, env=environment
    )


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
    # the load's hint runs as printed: it names the database given
    [hint] = [line for line in out.stderr.splitlines() if "see why with: " in line]
    shown = run(*hint.split("see why with: salesintel ")[1].split())
    assert shown.returncode == 0 and "boss" in shown.stdout, shown.stderr
    # every CSV output writes yes/no as true and false, as the export does
    listed = run("schema", "--format", "csv").stdout.splitlines()
    assert "customers,customer_id,string,true,,Your identifier of the customer or prospect." in listed


def test_user_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "o.csv", "order_id\n1\n")
    for args in (
        ["load", "orders", str(bad)],
        ["load", "nosuchtable", str(bad)],
        ["load", "orders", str(tmp_path / "missing.csv")],
        ["analyze", "--as-of", "yesterday"],
        ["analyze", "--as-of", "2025-06-30", "rules"],  # before the name: the analysis would not see it
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
    # the table shows the first rows and says how many there are; yes/no in place of True/False
    top = run("show", "rules", "--limit", "2", "--db", str(db))
    assert top.returncode == 0 and "(first 2 of " in top.stdout, top.stdout
    fresh = run("basket-rules", "--limit", "1", "--db", str(db))  # computed, not kept: the run's own count
    assert fresh.returncode == 0 and "(first 1 of " in fresh.stdout, fresh.stdout
    assert "│ yes " in run("runs", "--db", str(db)).stdout
    # an analysis that fails leaves the others kept, and the command's exit code says so (here: out of memory
    # under the user's limit, exit 2 as their input); the table of runs comes first, the failures after it
    out = run("analyze", "--db", str(db), "--format", "csv", env={"SALESINTEL_MEMORY_LIMIT": "16MB"})
    failed = [line.split(",")[0] for line in out.stdout.splitlines() if ",failed," in line]
    kept = [line.split(",")[0] for line in out.stdout.splitlines() if ",ok," in line]
    assert out.returncode == 2 and failed and kept, (out.stdout, out.stderr)
    errors = out.stderr.strip().splitlines()
    assert [e.split()[1] for e in errors] == failed and all("ran out of memory" in e for e in errors), errors
    # --debug adds each failed run's traceback and keeps the exit code
    debug = run("analyze", "--db", str(db), "--debug", env={"SALESINTEL_MEMORY_LIMIT": "16MB"})
    debug_errors = [line for line in debug.stderr.splitlines() if line.startswith("error: ")]
    assert debug.returncode == 2 and debug_errors, debug.stderr  # which ones run out may differ from run to run
    assert debug.stderr.count("Traceback") >= len(debug_errors), debug.stderr  # a chained error prints two
    # the earlier result of a failed analysis is still shown, saying that it is not the newest run's (one
    # that failed in the newest analyze: which ones run out of memory differs from run to run)
    failed = [line.split()[1] for line in debug_errors]
    shown = run("show", failed[0], "--db", str(db), "--format", "csv")
    assert shown.returncode == 0 and shown.stdout, shown.stderr
    assert "the newest run" in shown.stderr and "failed: the embedded DuckDB ran out of memory" in shown.stderr
    listed = run("runs", failed[0], "--db", str(db), "--format", "csv").stdout.splitlines()
    assert ",failed," in listed[1] and "SALESINTEL_MEMORY_LIMIT is 16MB" in listed[1], listed
    # names as `list` and the tables print them (basket_rules) work as commands too
    assert run("analyze", "basket_rules", "--help").returncode == 0
    assert run("basket_rules", "--db", str(db), "--limit", "1").returncode == 0


def test_unexpected_errors_are_one_line_exit_1_and_debug_adds_the_traceback(tmp_path: Path) -> None:
    db = tmp_path / "broken.duckdb"
    assert (
        run("load", "reps", str(write_csv(tmp_path / "reps.csv", "rep_id,name\nR1,Ann\n")), "--db", str(db)).returncode
        == 0
    )
    import duckdb

    with duckdb.connect(str(db)) as con:  # break the store behind salesintel's back
        con.execute(
            "INSERT INTO analysis_runs (run_id, analysis, started_at, params, status) "
            "VALUES ('r1', 'rules', now(), 'not json', 'ok')"
        )
    out = run("runs", "--db", str(db))
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "run again with --debug" in out.stderr and "Traceback" not in out.stderr
    debug = run("runs", "--db", str(db), "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("error: runs failed: "), debug.stderr
    # a user's error keeps its exit code under --debug too
    missing = run("show", "rules", "--db", str(tmp_path / "none.duckdb"), "--debug")
    assert missing.returncode == 2 and "Traceback" in missing.stderr, missing.stderr


def test_export_writes_to_stdout_and_json_is_one_document(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    run("load", "reps", str(write_csv(tmp_path / "reps.csv", "rep_id,name\nR1,Ann\nR2,Bo\n")), "--db", db)
    out = run("export", "reps", "--format", "csv", "-o", "-", "--db", db, cwd=tmp_path)
    assert out.stdout.startswith("rep_id,name") and not (tmp_path / "-").exists()
    assert not (tmp_path / "reps.csv.csv").exists()
    piped = run("export", "reps", "--format", "json", "--db", db, cwd=tmp_path)  # stdout is a pipe here
    assert [r["rep_id"] for r in json.loads(piped.stdout)] == ["R1", "R2"]
    lines = run("export", "reps", "--format", "jsonl", "--db", db).stdout.splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["name"] == "Ann"
    one = run("export", "reps", "-o", str(tmp_path / "r.csv"), "--db", db)
    assert "wrote 2 rows" in one.stderr
    # whole numbers stay whole, also beside a gap (pandas would write 1980.0)
    run("load", "customers", str(write_csv(tmp_path / "c.csv", "customer_id,birth_year\nC1,1980\nC2,\n")), "--db", db)
    csv_text = run("export", "customers", "--format", "csv", "--db", db).stdout
    assert ",1980," in csv_text and "1980.0" not in csv_text
    jsonl = run("export", "customers", "--format", "jsonl", "--db", db).stdout.splitlines()
    assert [json.loads(line)["birth_year"] for line in jsonl] == [1980, None]


def test_loading_hints_name_the_right_option(tmp_path: Path) -> None:
    semi = write_csv(tmp_path / "c.csv", "customer_id;name\nC1;Ann\n")
    out = run("load", "customers", str(semi), "--db", str(tmp_path / "h.duckdb"))
    assert out.returncode == 2 and "--delimiter ';'" in out.stderr
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"PAR1\x00\x00\x01")
    out = run("load", "customers", str(binary), "--db", str(tmp_path / "h.duckdb"))
    assert out.returncode == 2 and "--source-format" in out.stderr


def test_analysis_commands_are_generated_from_the_declarations(tmp_path: Path) -> None:
    help_text = run("analyze", "rules", "--help").stdout
    for option in ("--window-days", "--min-customers", "--min-lift", "--top", "--by", "--antecedent", "--as-of"):
        assert option in help_text, option
    bad = run("rules", "--window-days", "-5", "--db", str(tmp_path / "none.duckdb"))
    assert bad.returncode == 2 and "no database" in bad.stderr
    db = str(tmp_path / "d.duckdb")
    assert run("demo", "--customers", "400", "--db", db).returncode == 0
    bad = run("rules", "--window-days", "-5", "--db", db)
    assert bad.returncode == 2 and "window_days must be at least 1" in bad.stderr
    typo = run("rules", "--by", "prodcut", "--db", db)
    assert typo.returncode == 2 and "one of product, category" in typo.stderr
    nosuch = run("show", "profiles", "--result", "nosuch", "--db", db)
    assert nosuch.returncode == 2 and "no result 'nosuch'" in nosuch.stderr
    before = run("runs", "rules", "--format", "json", "--db", db).stdout
    ad_hoc = run("rules", "--window-days", "365", "--format", "csv", "--db", db)
    assert ad_hoc.returncode == 0 and set(ad_hoc.stdout.splitlines()[1:2][0].split(",")[2:3]) == {"365"}
    assert run("runs", "rules", "--format", "json", "--db", db).stdout == before  # nothing kept
    assert ",180," in run("show", "rules", "--format", "csv", "--db", db).stdout.splitlines()[1]
    saved = run("rules", "--window-days", "365", "--save", "--db", db)
    assert "kept as run" in saved.stderr
    assert len(json.loads(run("runs", "rules", "--format", "json", "--db", db).stdout)) == 2


def test_a_new_analysis_is_one_module_and_every_front_end_picks_it_up(tmp_path: Path) -> None:
    """docs/writing-an-analysis.md: tests/data/plugins/repeat_share.py is the whole analysis."""
    import os

    env = {
        **os.environ,
        "SALESINTEL_PLUGINS": "repeat_share",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent / "data" / "plugins"), os.environ.get("PYTHONPATH", "")]
        ),
    }

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "salesintel", *args], capture_output=True, text=True, env=env)

    db = str(tmp_path / "p.duckdb")
    assert cli("demo", "--customers", "300", "--db", db, "--report", str(tmp_path / "r.html")).returncode == 0
    assert "--min-buyers" in cli("analyze", "repeat-share", "--help").stdout
    assert "repeat_share" in cli("list", "--format", "csv").stdout
    ad_hoc = cli("repeat-share", "--min-buyers", "5", "--format", "csv", "--db", db)
    assert ad_hoc.returncode == 0 and ad_hoc.stdout.startswith("month,buyers,repeat_buyers,repeat_share")
    as_json = json.loads(cli("show", "repeat_share", "--format", "json", "--db", db).stdout)
    assert as_json and {"month", "repeat_share"} <= set(as_json[0])  # the demo's run_all ran it too
    assert cli("analyze", "repeat-share", "--db", db).returncode == 0
    assert len(json.loads(cli("runs", "repeat_share", "--format", "json", "--db", db).stdout)) == 2
    page = tmp_path / "again.html"
    assert cli("report", "-o", str(page), "--db", db).returncode == 0
    text = page.read_text()
    assert "Repeat buyers by month" in text and "have bought before" in text


def test_a_misspelt_spark_setting_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run("runs", "--db", f"spark://local[2]?warehose={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: unknown setting warehose in the Spark URL; it takes database, warehouse"
    ), result.stderr
    assert not (tmp_path / "salesintel-warehouse").exists()


def test_messages_keep_their_brackets(capsys) -> None:
    """An install hint such as salesintel[spark] is text, not a style tag for the console."""
    from salesintel.cli.output import message

    message("needs the extra: pip install 'salesintel[spark]'")
    assert "salesintel[spark]" in capsys.readouterr().err
