"""Registers the built-in analyses: every module of this package that is not part of the machinery.

Adding an analysis is writing one module here that calls ``register(Analysis(...))``: it is found, and the
CLI, ``analyze``, ``show``, the report and the API pick it up from its declaration.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

import salesintel.analyses as package

MACHINERY = {"builtin", "groups", "registry", "results", "runner", "spec", "timeline"}

for _module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
    if _module not in MACHINERY:
        importlib.import_module(f"salesintel.analyses.{_module}")

# analyses of your own, outside the package: SALESINTEL_PLUGINS=my_company.analyses,other_module
for _module in filter(None, (m.strip() for m in os.environ.get("SALESINTEL_PLUGINS", "").split(","))):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as exc:
        from salesintel.errors import UserInputError

        raise UserInputError(
            f"SALESINTEL_PLUGINS names {_module!r}, which cannot be imported ({exc}); "
            f"put its folder on PYTHONPATH or install it"
        ) from None
