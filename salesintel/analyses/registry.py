"""The registry: every analysis is registered once, by the module that defines it.

Example:
    >>> from salesintel.analyses import registry
    >>> "profiles" in registry.names()
    True
"""

from __future__ import annotations

from salesintel.analyses.spec import Analysis
from salesintel.errors import NotFound

_REGISTRY: dict[str, Analysis] = {}


def register(analysis: Analysis) -> Analysis:
    """Add ``analysis`` to the registry (a name may be registered once)."""
    if analysis.name in _REGISTRY:
        raise ValueError(f"analysis {analysis.name!r} registered twice")
    _REGISTRY[analysis.name] = analysis
    return analysis


def names() -> list[str]:
    """Every registered analysis, alphabetically, except that one comes after those it declares in ``after``
    (decline reuses the CLV run's fit, so ``run_all`` runs clv first)."""
    _load_builtin()
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in done:
            return
        if name in path:
            raise ValueError(f"analyses {' -> '.join(path + (name,))} wait for each other")
        for first in sorted(_REGISTRY[name].after):
            if first in _REGISTRY:
                visit(first, path + (name,))
        done.append(name)

    for name in sorted(_REGISTRY):
        visit(name)
    return done


def get(name: str) -> Analysis:
    """The analysis called ``name``; :class:`NotFound` names the choices."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFound(f"no analysis called {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


def _load_builtin() -> None:
    import salesintel.analyses.builtin  # noqa: F401 - importing registers the built-in analyses
