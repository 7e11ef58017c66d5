"""Analyses, one module per business question, each declared and registered once (see :mod:`spec`).

Importing this package is cheap: the analysis modules load when the registry is first asked.
"""
