"""Fitting BG/NBD + Gamma-Gamma on 1,000,000 customers, next to the lifetimes package on the same data.

    .venv/bin/python bench/clv.py [--customers 1000000]

The customers are simulated from a BG/NBD process with known parameters (r=0.25, alpha=4, a=0.8, b=2.5,
weeks), so the benchmark also shows how close each fit gets. Both fits get the same summary table; ours
collapses equal (frequency, recency, T) triples first, which is part of what is timed.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pandas as pd
import scipy.optimize  # noqa: F401 - salesintel imports scipy on first use; lifetimes at import: both before the clock
import scipy.special  # noqa: F401

from salesintel.analyses.clv import fit_clv, score_customers

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def simulate(customers: int, weeks: float = 39.0, seed: int = 0) -> pd.DataFrame:
    """BG/NBD customers observed for ``weeks``, purchase times rounded to whole days (as real data is)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    p = rng.beta(TRUE["a"], TRUE["b"], customers)
    T = np.round(rng.uniform(weeks / 3, weeks, customers) * 7) / 7
    x = np.zeros(customers, dtype=np.int64)
    t_x = np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    now = np.zeros(customers)
    while alive.any():  # one step per purchase number (dozens), each vectorised over all customers
        gap = rng.exponential(1 / np.maximum(lam, 1e-12))
        now = now + gap
        bought = alive & (now <= T)
        x[bought] += 1
        t_x[bought] = np.round(now[bought] * 7) / 7
        alive = bought & (rng.random(customers) >= p)
    nu = rng.gamma(3.7, 1 / 15.0, customers)  # Gamma-Gamma: mean of x purchases ~ Gamma(p x, nu x)
    spend = rng.gamma(6.0 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1)))
    return pd.DataFrame(
        {
            "customer_id": np.arange(customers).astype(str),
            "frequency": x,
            "recency": t_x,
            "T": T,
            "monetary_value": np.where(x > 0, np.maximum(spend, 0.01), 0.0),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    summary = simulate(args.customers)
    print(f"{args.customers:,} customers, {int((summary.frequency > 0).sum()):,} with a repeat purchase")
    from lifetimes import BetaGeoFitter

    ours, theirs = [], []
    for _ in range(args.repeat):  # alternating, same data
        t0 = time.perf_counter()
        fit = fit_clv(summary, as_of=date(2025, 1, 1), time_unit="weeks")
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bg = BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
        theirs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    score_customers(summary, fit, horizon_days=365, discount_rate=0.1)
    ours_score = time.perf_counter() - t0
    m = fit.purchases
    print(
        f"salesintel BG/NBD + Gamma-Gamma fit: {_spread(ours)}; scoring (p_alive, purchases, CLV): {ours_score:.2f} s"
    )
    print(f"  r={m.r_:.5f} alpha={m.alpha_:.5f} a={m.a_:.5f} b={m.b_:.5f} (true {TRUE})")
    print(f"lifetimes BetaGeoFitter fit (BG/NBD only): {_spread(theirs)}")
    print("  " + " ".join(f"{k}={v:.5f}" for k, v in bg.params_.items()))
    ratios = [t / o for t, o in zip(theirs, ours)]
    print(f"ratio: {_spread(ratios, 'x', 1)} faster than lifetimes (our time includes the Gamma-Gamma fit)")
    # lifetimes maximises the same likelihood with exact (autograd) gradients: its optimum is the reference
    ref = {k: float(bg.params_[k]) for k in ("r", "alpha", "a", "b")}
    ours_p = {"r": m.r_, "alpha": m.alpha_, "a": m.a_, "b": m.b_}
    worst = max(abs(ours_p[k] / ref[k] - 1) for k in ref)
    print(f"parameters: ours differ from lifetimes' by at most {worst:.1e} relative (target 1e-4)")


def _spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """min / median / max."""
    return f"{min(values):.{digits}f} / {float(np.median(values)):.{digits}f} / {max(values):.{digits}f} {unit}"


if __name__ == "__main__":
    main()
