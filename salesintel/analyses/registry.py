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
    """Every registered analysis, in the order the package registers them."""
    _load_builtin()
    return list(_REGISTRY)


def get(name: str) -> Analysis:
    """The analysis called ``name``; :class:`NotFound` names the choices."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFound(f"no analysis called {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


def _load_builtin() -> None:
    import salesintel.analyses.builtin  # noqa: F401 - importing registers the built-in analyses
