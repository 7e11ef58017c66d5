"""What a proof over a CSV file's bytes that no value has whitespace at its edges costs in Python, next to
the SHA-256 the load already computes over the same bytes (the peer: the pass the proof would share).

    .venv/bin/python bench/load_edge_proof.py [--rows 1000000]

The one-pass load's edge tests cost about 0.29 s per 1M order lines (docs/performance.md); a proof that let
the statement skip them pays only if it costs less. The proof here is conservative: a comma, a line feed
or a double quote counts as a value's boundary, and a file fails it if a byte below ``!`` (other than a
boundary or a carriage return) follows a boundary, or a space, tab, VT or FF precedes one. A failed proof
would only send the file to the edge-testing statement, so false alarms cost time, never correctness.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from load_orders import make_orders

_BOUNDARIES = b',\n"'
_EDGE_BLANKS = b" \t\x0b\x0c"


def proof_numpy(data: bytes) -> bool:
    """Masks over the bytes, one vector operation per test."""
    a = np.frombuffer(data, dtype=np.uint8)
    boundary = np.isin(a, np.frombuffer(_BOUNDARIES, dtype=np.uint8))
    starts_low = (a < 0x21) & ~boundary & (a != 0x0D)
    ends_blank = np.isin(a, np.frombuffer(_EDGE_BLANKS, dtype=np.uint8))
    after = boundary[:-1] & starts_low[1:]
    before = ends_blank[:-1] & (boundary[1:] | (a[1:] == 0x0D))
    return not (after.any() or before.any() or starts_low[0] or ends_blank[-1])


_CLASSES = bytearray(b"x" * 256)
for _code in range(0x21):
    _CLASSES[_code] = ord("L")
for _code in _EDGE_BLANKS:
    _CLASSES[_code] = ord("W")
for _code in _BOUNDARIES:
    _CLASSES[_code] = ord("B")
_CLASSES[0x0D] = ord("R")
_CLASSES = bytes(_CLASSES)


def proof_translate(data: bytes) -> bool:
    """Every byte mapped to its class, then four substring tests over the classes."""
    classes = data.translate(_CLASSES)
    pairs = (b"BW", b"BL", b"WB", b"WR")
    return not any(pair in classes for pair in pairs) and classes[:1] not in (b"W", b"L") and classes[-1:] != b"W"


_PATTERN = re.compile(rb'[,\n"][\x00-\x09\x0b\x0c\x0e-\x1f ]|[\t\x0b\x0c ][,\r\n"]|\A[\x00-\x20]|[\t\x0b\x0c ]\Z')


def proof_regex(data: bytes) -> bool:
    """One regular-expression search over the bytes."""
    return _PATTERN.search(data) is None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _best_of(fn: Callable[[bytes], object], data: bytes, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(data)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        make_orders(path, args.rows)
        data = path.read_bytes()
    print(f"file: {args.rows:,} order lines, {len(data) / 1e6:.1f} MB in memory, best of {args.repeat}")
    hashed, _ = _best_of(sha256, data, args.repeat)
    print(f"sha256 (the pass the load already makes): {hashed * 1000:6.0f} ms")
    verdicts = set()
    for proof in (proof_numpy, proof_translate, proof_regex):
        took, verdict = _best_of(proof, data, args.repeat)
        verdicts.add(verdict)
        print(
            f"{proof.__name__:<16} no edge whitespace: {verdict!s:<5} {took * 1000:6.0f} ms"
            f"  ({took / hashed:.1f}x sha256)"
        )
    assert len(verdicts) == 1, "the three proofs disagree"
    print("the edge tests a proof would let the load skip: about 290 ms per 1M lines (docs/performance.md)")


if __name__ == "__main__":
    main()
