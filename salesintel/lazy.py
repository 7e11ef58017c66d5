"""Heavy libraries imported on first use, so that ``salesintel --help`` and every CLI start stay fast.

``pd = lazy("pandas")`` reads like the import it replaces; the real import happens at the first attribute.

>>> stats = lazy("scipy.stats")
>>> round(float(stats.norm.sf(0.0)), 2)
0.5
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for a module that imports it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """The module ``name``, imported on first use."""
    return LazyModule(name)
