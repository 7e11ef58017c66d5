"""Fitted models kept in the store's ``models`` table: artifact (hyper-parameters and learned state) and
training metadata, so that scoring later or in another process needs no refit.

A model is found again by its name and as-of date, and only when the data it was fitted on is unchanged:
the ``fingerprint`` (row counts and sums of the training input) must match, and it must not be ``stale``.

Example:
    >>> from datetime import date
    >>> from salesintel.store import Store
    >>> from salesintel.models import BGNBD
    >>> store = Store.open(":memory:")
    >>> m = BGNBD().fit([0, 2, 5], [0.0, 20.0, 30.0], [40.0, 40.0, 40.0])
    >>> _ = save_model(store, "bgnbd", m, as_of=date(2025, 1, 1), fingerprint={"rows": 3})
    >>> load_model(store, "bgnbd", as_of=date(2025, 1, 1), fingerprint={"rows": 3}).r_ == m.r_
    True
    >>> load_model(store, "bgnbd", as_of=date(2025, 1, 1), fingerprint={"rows": 4}) is None
    True
"""

from __future__ import annotations

import json
import platform
import uuid
from datetime import date
from importlib import metadata as importlib_metadata
from typing import Any

import pyarrow as pa

from salesintel.models import MODEL_CLASSES, Model
from salesintel.store import Store, now_utc

_LIBRARIES = ("salesintel", "numpy", "scipy", "pandas", "ibis-framework", "duckdb")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


def save_model(
    store: Store,
    name: str,
    model: Model,
    *,
    as_of: date,
    fingerprint: dict,
    metadata: dict | None = None,
    analysis: str | None = None,
    run_id: str | None = None,
) -> str:
    """Keep a fitted model; returns its model_id."""
    model_id = uuid.uuid4().hex[:12]
    meta = {
        "as_of": as_of.isoformat(),
        "training_rows": fingerprint,
        "libraries": library_versions(),
        **(metadata or {}),
    }
    store.append(
        "models",
        pa.table(
            {
                "model_id": pa.array([model_id]),
                "name": pa.array([name]),
                "kind": pa.array([type(model).__name__]),
                "analysis": pa.array([analysis], pa.string()),
                "run_id": pa.array([run_id], pa.string()),
                "as_of": pa.array([as_of], pa.date32()),
                "fitted_at": pa.array([now_utc()], pa.timestamp("us")),
                "fingerprint": pa.array([_dumps(fingerprint)]),
                "artifact": pa.array([_dumps(model.to_artifact())]),
                "metadata": pa.array([_dumps(meta)]),
                "stale": pa.array([False]),
            }
        ),
    )
    return model_id


def load_model(store: Store, name: str, *, as_of: date, fingerprint: dict | None = None) -> Model | None:
    """The newest non-stale model ``name`` fitted at ``as_of`` (on data with this ``fingerprint``), or None."""
    t = store.table("models")
    t = t.filter((t.name == name) & (t.as_of == as_of) & ~t.stale.fill_null(False))
    if fingerprint is not None:
        t = t.filter(t.fingerprint == _dumps(fingerprint))
    rows = t.order_by(t.fitted_at.desc()).limit(1).execute()
    if rows.empty:
        return None
    row = rows.iloc[0]
    return MODEL_CLASSES[row.kind].from_artifact(json.loads(row.artifact))


def model_metadata(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """Every kept model's name, kind, as_of, when fitted and its metadata, newest first."""
    t = store.table("models")
    if name is not None:
        t = t.filter(t.name == name)
    df = t.order_by(t.fitted_at.desc()).execute()
    return [
        {
            "model_id": r.model_id,
            "name": r.name,
            "kind": r.kind,
            "as_of": r.as_of,
            "fitted_at": r.fitted_at,
            "stale": bool(r.stale),
            **json.loads(r.metadata or "{}"),
        }
        for r in df.itertuples()
    ]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
