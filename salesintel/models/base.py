"""The estimator contract every salesintel model follows (scikit-learn's): hyper-parameters in ``__init__``,
``fit`` returns ``self``, learned state in attributes ending in ``_``, :class:`NotFitted` before ``fit``,
and ``save`` / ``load`` that round-trip exactly (JSON, floats written with their full precision).
"""

from __future__ import annotations

import inspect
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Iterator

from salesintel.errors import NotFitted, UserInputError


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while a model fits. Each optimiser step multiplies a 4 x n matrix by a vector: too
    little work to share, and OpenBLAS's threads then wait on each other. On a busy 2-core machine the CLV fit
    of 1M customers took 2.0 s with them and 0.3 s without (docs/performance.md)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class Model:
    """Base of the estimators: parameters, fitted state and their JSON artifact."""

    #: learned attributes (without the trailing underscore is how they appear in reports)
    state: ClassVar[tuple[str, ...]] = ()

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as given to ``__init__``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    @property
    def is_fitted(self) -> bool:
        return all(hasattr(self, f"{s}_") for s in self.state)

    def check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFitted(f"the {type(self).__name__} model has not been fitted; call fit first")

    def fitted_state(self) -> dict[str, Any]:
        """The learned values by name (without the underscore)."""
        self.check_fitted()
        return {s: getattr(self, f"{s}_") for s in self.state}

    def to_artifact(self) -> dict:
        """Everything needed to rebuild the fitted model: its class, hyper-parameters and learned state."""
        return {"kind": type(self).__name__, "params": self.get_params(), "state": self.fitted_state()}

    @classmethod
    def from_artifact(cls, artifact: dict) -> "Model":
        if artifact.get("kind") != cls.__name__:
            raise UserInputError(f"this artifact holds a {artifact.get('kind')} model, not a {cls.__name__}")
        model = cls(**artifact.get("params", {}))
        for name, value in artifact["state"].items():
            setattr(model, f"{name}_", value)
        return model

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_artifact(), indent=1, allow_nan=True), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Model":
        """Read a model :meth:`save` wrote."""
        return cls.from_artifact(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        fitted = (
            ", ".join(f"{k}_={_short(v)}" for k, v in self.fitted_state().items()) if self.is_fitted else "unfitted"
        )
        return f"{type(self).__name__}({params}) [{fitted}]"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else repr(value)
