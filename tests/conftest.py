"""Shared fixtures: real DuckDB files on disk, the demo company, files in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesintel.demo import load_order, write_demo
from salesintel.ingest import load_file
from salesintel.store import Store

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(str(tmp_path / "test.duckdb"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The default demo company (10,000 customers, seed 42) as CSV files with truth.json."""
    directory = tmp_path_factory.mktemp("demo")
    write_demo(directory)
    return directory


@pytest.fixture(scope="session")
def truth(demo_dir: Path) -> dict:
    return json.loads((demo_dir / "truth.json").read_text())


@pytest.fixture(scope="session")
def demo_store(demo_dir: Path, tmp_path_factory) -> Store:
    """The demo company loaded through the real ingestion path into a DuckDB file."""
    s = Store.open(str(tmp_path_factory.mktemp("demodb") / "demo.duckdb"))
    for name in load_order():
        load_file(s, demo_dir / f"{name}.csv", table=name)
    yield s
    s.close()


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"))
    return path
