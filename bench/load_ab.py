"""Two versions of salesintel loading the same file, alternating in fresh processes: wall and CPU time.

    git worktree add /tmp/old 675a418      # the version to compare with
    .venv/bin/python bench/load_ab.py /tmp/old [--shape retail|orders|bad-orders] [--repeat 7]

On a shared host the wall clock of one load moves by more than a change of a tenth does; alternating the
two versions run by run, and reading their CPU time (user + system) next to it, tells a change from the
noise. ``retail``: `bench/load_retail.py`'s Online Retail-shaped file with examples/online_retail.yaml;
``orders``: `bench/load_orders.py`'s 1M order lines; ``bad-orders``: the same with 10 dates that do not
parse (the general path: read, check table, store).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

# runs inside the version under test (PYTHONPATH), so it uses nothing but the public load_file
ONE_LOAD = r"""
import sys, time
from pathlib import Path
import scipy.stats  # noqa: F401 - imported lazily by salesintel; keep its import out of the clock
from salesintel.ingest import load_file
from salesintel.store import Store
file, mapping, db = sys.argv[1], sys.argv[2], sys.argv[3]
store = Store.open(db)
wall, cpu = time.perf_counter(), time.process_time()
if mapping:
    load_file(store, Path(file), mapping=Path(mapping))
else:
    load_file(store, Path(file), table="orders")
store.close()  # what DuckDB writes at close belongs to the load
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old", type=Path, help="a checkout of the version to compare with")
    parser.add_argument("--shape", choices=["retail", "orders", "bad-orders"], default="retail")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    versions = {"old": args.old.resolve(), "new": ROOT}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
    with tempfile.TemporaryDirectory() as tmp:
        file, mapping = _make_file(Path(tmp), args.shape)
        for i in range(args.repeat):
            for name, root in versions.items():
                db = Path(tmp) / f"{name}{i}.duckdb"
                cmd = [sys.executable, "-c", ONE_LOAD, str(file), mapping, str(db)]
                env = dict(os.environ, PYTHONPATH=str(root))
                out = subprocess.run(cmd, env=env, cwd=tmp, check=True, capture_output=True, text=True).stdout
                wall, cpu = map(float, out.strip().splitlines()[-1].split())
                times[name].append((wall, cpu))
    print(f"{args.shape}: {args.repeat} alternating loads each; old = {versions['old']}")
    for name, runs in times.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"{name}: wall {_spread(walls)} s, CPU {_spread(cpus)} s")
    for i, label in ((0, "wall"), (1, "CPU")):
        old, new = (statistics.median(r[i] for r in times[n]) for n in ("old", "new"))
        print(f"new / old, median {label}: {new / old:.3f}")


def _make_file(folder: Path, shape: str) -> tuple[Path, str]:
    if shape == "retail":
        from load_retail import make_retail

        path = folder / "OnlineRetail.csv"
        make_retail(path, 541_909)
        return path, str(ROOT / "examples" / "online_retail.yaml")
    from load_orders import make_orders

    path = folder / "orders.csv"
    make_orders(path, 1_000_000, bad_rows=10 if shape == "bad-orders" else 0)
    return path, ""


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


if __name__ == "__main__":
    main()
