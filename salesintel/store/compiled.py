"""Statements compiled once and kept: a command does not compile again what an earlier one compiled.

Ibis turns an expression into SQL in two steps: it rewrites the operation graph, then sqlglot builds the
statement's tree. The first step is most of the cost: a load of the Online Retail export compiles 26
statements in 0.15 s of its 2 s, and every command runs in a fresh process. Two expressions of the same
*shape* compile to the same tree, so the tree is kept by shape, in memory and in a private folder
(``$SALESINTEL_SQL_CACHE``, :func:`salesintel.config.sql_cache_folder`).

A shape is the operation graph written out node by node: each node's class and every argument, down to
each literal's type and value. Two things are left out, because they change from one load to the next
while the statement does not:

- the names of temporary and in-memory tables (``_chk_5101e8b090``, ``ibis_pyarrow_memtable_...``): the
  shape keeps their order of first appearance, and a kept tree gets this statement's names back;
- the connection a table belongs to (a statement reads the same whatever object holds the connection).

A graph holding anything that does not write itself out exactly (an object of a class not known here, a
Python function) has no shape and is compiled each time, as is a statement with parameters. Kept trees
are sqlglot's own pickles, read back by an unpickler that makes nothing but sqlglot expressions, from a
folder (made 0700) that only this user can write to; each file carries its key, so a file copied over
another is not taken for it. The key carries the versions of Ibis, sqlglot and Python, and
the SQL options of Ibis, so an upgrade compiles afresh.

>>> import ibis
>>> con = ibis.duckdb.connect()
>>> con.compiler = CachedCompiler(con.compiler, folder=None)
>>> t = con.create_table("_chk_0123456789", schema={"a": "int64"}, temp=True)
>>> con.compile(t.a.sum()) == con.compile(t.a.sum())  # the second is read from the kept tree
True
>>> con.compiler.hits
1
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import hashlib
import io
import os
import pickle
import re
import sys
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesintel.config import sql_cache_folder

#: set (to anything) to compile every statement found kept as well and fail where the two differ (the tests)
ENV_VERIFY = "SALESINTEL_SQL_CACHE_VERIFY"
#: trees kept in memory per process
KEPT_IN_MEMORY = 256
#: files kept in the folder; the least recently used go first
KEPT_ON_DISK = 1000
#: a temporary table of salesintel's (``_chk_`` and ten hex digits) or an Ibis in-memory table
VOLATILE_NAME = re.compile(r"^(_[a-z]+_[0-9a-f]{8,32}|ibis_[a-z]+_memtable_[a-z0-9]{20,32})$")

#: values whose repr writes them out exactly, and whose type name tells them apart (1, 1.0, True, '1')
_PLAIN = (
    str,
    int,
    float,
    bool,
    bytes,
    type(None),
    Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
)


def keep_compiled(con: Any) -> None:
    """Make the Ibis connection ``con`` keep what it compiles (``$SALESINTEL_SQL_CACHE``, in memory if off)."""
    con.compiler = CachedCompiler(type(con).compiler, sql_cache_folder())


class _NoShape(Exception):
    """Part of the graph does not write itself out exactly: compile it each time."""


class CachedCompiler:
    """An Ibis SQL compiler whose ``to_sqlglot`` keeps each statement's tree by shape.

    Everything else is the wrapped compiler's. ``hits`` and ``misses`` count what this process found kept.
    """

    def __init__(self, compiler: Any, folder: Path | None) -> None:
        self._compiler = compiler
        self._folder = _private_folder(folder / _versions_tag()) if folder is not None else None
        self._memory: OrderedDict[str, tuple[tuple[str, ...], bytes]] = OrderedDict()
        self._written = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._compiler, name)

    def to_sqlglot(self, expr: Any, *, limit: Any = None, params: Any = None) -> Any:
        if params:  # values bound at run time: rare, and their ids are not part of the shape
            return self._compiler.to_sqlglot(expr, limit=limit, params=params)
        try:
            key, names = statement_shape(expr, limit, type(self._compiler).__qualname__)
        except _NoShape:
            return self._compiler.to_sqlglot(expr, limit=limit, params=params)
        kept = self._kept(key)
        if kept is not None:
            tree = _with_names(kept, names)
            if tree is not None:
                self.hits += 1
                if os.environ.get(ENV_VERIFY):
                    self._verify(tree, expr, limit)
                return tree
        self.misses += 1
        tree = self._compiler.to_sqlglot(expr, limit=limit, params=params)
        self._keep(key, names, tree)
        return tree

    def _verify(self, tree: Any, expr: Any, limit: Any) -> None:
        """The test suite's check: the kept tree writes the statement a fresh compile writes."""
        dialect = self._compiler.dialect
        kept, fresh = tree.sql(dialect), self._compiler.to_sqlglot(expr, limit=limit).sql(dialect)
        if _comparable(kept) != _comparable(fresh):
            raise AssertionError(f"a kept statement differs from its fresh compile:\n{kept}\n---\n{fresh}")

    # -- where trees are kept ----------------------------------------------------------------------
    def _kept(self, key: str) -> tuple[tuple[str, ...], bytes] | None:
        with self._lock:  # a server's threads may share a connection
            kept = self._memory.get(key)
            if kept is not None:
                self._memory.move_to_end(key)
                return kept
        if self._folder is None:
            return None
        path = self._folder / key
        try:
            data = path.read_bytes()
            # the envelope: the key, the names and the tree's bytes, no class in it
            own_key, names, tree = _load_tree(data)
        except FileNotFoundError:
            return None
        except Exception:  # a torn or foreign file: compile, and write it again
            return None
        if own_key != key:  # a file copied or renamed into place: it is another statement's
            return None
        if not (isinstance(names, tuple) and all(isinstance(n, str) for n in names) and isinstance(tree, bytes)):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept when the folder is pruned
        self._remember(key, (names, tree))
        return names, tree

    def _keep(self, key: str, names: tuple[str, ...], tree: Any) -> None:
        try:
            data = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
            _load_tree(data)  # kept only what reads back with sqlglot's classes alone
        except Exception:
            return
        self._remember(key, (names, data))
        if self._folder is not None:
            self._write(key, pickle.dumps((key, names, data), protocol=pickle.HIGHEST_PROTOCOL))

    def _remember(self, key: str, kept: tuple[tuple[str, ...], bytes]) -> None:
        with self._lock:
            self._memory[key] = kept
            while len(self._memory) > KEPT_IN_MEMORY:
                self._memory.popitem(last=False)

    def _write(self, key: str, data: bytes) -> None:
        try:  # written whole, then renamed: a reader never sees half a file
            fd, tmp = tempfile.mkstemp(dir=self._folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, self._folder / key)
        except OSError:  # a full or read-only disk: the statement is compiled next time
            return
        if self._written % 64 == 0:
            _prune(self._folder, KEPT_ON_DISK)
        self._written += 1


def statement_shape(expr: Any, limit: Any, compiler: str) -> tuple[str, tuple[str, ...]]:
    """The key of ``expr``'s shape and the volatile table names it holds, in order of first appearance.

    Raises :class:`_NoShape` when part of the graph cannot be written out exactly.

    >>> import ibis
    >>> a = ibis.table({"x": "int64"}, name="_chk_00000000aa")
    >>> b = ibis.table({"x": "int64"}, name="_chk_00000000bb")
    >>> ka, na = statement_shape(a.x.sum(), None, "c")
    >>> kb, nb = statement_shape(b.x.sum(), None, "c")
    >>> ka == kb, na, nb
    (True, ('_chk_00000000aa',), ('_chk_00000000bb',))
    >>> statement_shape(b.x.sum() + 1, None, "c")[0] == ka
    False
    """
    import ibis

    writer = _ShapeWriter()
    root = writer.node(expr.as_table().op())
    head = f"{compiler}|limit={limit!r}|{ibis.options.sql!r}|root={root}"
    text = "\n".join([head, *writer.lines])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), tuple(writer.names)


class _ShapeWriter:
    """Writes an Ibis operation graph out as lines, one per node (children first, referred to by number)."""

    def __init__(self) -> None:
        import ibis.expr.operations as ops
        from ibis.common.grounds import Concrete
        from ibis.expr.datashape import DataShape
        from ibis.expr.datatypes import DataType
        from ibis.expr.schema import Schema

        self.ops, self.concrete = ops, Concrete
        self.dtype, self.schema = DataType, Schema
        self.datashape = DataShape
        self.lines: list[str] = []
        self.names: list[str] = []
        self._seen: dict[int, int] = {}  # by id: every node stays alive, held by the root, while it is walked

    def node(self, op: Any) -> int:
        at = self._seen.get(id(op))
        if at is not None:
            return at
        ops = self.ops
        if isinstance(op, ops.InMemoryTable):
            line = f"memtable {self._name(op.name)} {self.value(op.schema)}"
        elif isinstance(op, (ops.DatabaseTable, ops.UnboundTable)):
            line = f"table {self._name(op.name)} {self.value(op.schema)} {self.value(op.namespace)}"
        else:
            line = f"{self._class(op)}({', '.join(self.value(a) for a in op.__args__)})"
        self._seen[id(op)] = len(self.lines)
        self.lines.append(line)
        return len(self.lines) - 1

    def value(self, value: Any) -> str:
        if isinstance(value, self.ops.Node):
            return f"#{self.node(value)}"
        if isinstance(value, _PLAIN):
            return f"{type(value).__name__}:{value!r}"
        if isinstance(value, enum.Enum):
            return f"{type(value).__qualname__}.{value.name}"
        if isinstance(value, self.dtype):
            return repr(value)  # every argument, nullability and the fields of a struct included
        if isinstance(value, self.schema):
            return f"schema[{', '.join(f'{name!r}: {type_!r}' for name, type_ in value.items())}]"
        if isinstance(value, (tuple, list)):
            return f"{type(value).__name__}[{', '.join(self.value(v) for v in value)}]"
        if isinstance(value, Mapping):  # Ibis' frozen dicts keep their order, which the SQL follows
            return "{" + ", ".join(f"{self.value(k)}: {self.value(v)}" for k, v in value.items()) + "}"
        if isinstance(value, frozenset):  # no order to keep (the columns a projection drops)
            return f"frozenset[{', '.join(sorted(self.value(v) for v in value))}]"
        if isinstance(value, self.datashape):  # scalar or columnar: a class without state
            return type(value).__qualname__
        if isinstance(value, self.concrete):  # Ibis' own small value objects (a namespace, a window frame)
            return f"{self._class(value)}({', '.join(self.value(a) for a in value.__args__)})"
        raise _NoShape(type(value).__qualname__)

    def _class(self, obj: Any) -> str:
        cls = type(obj)
        if cls.__module__.startswith("ibis."):
            return f"{cls.__module__}.{cls.__qualname__}"
        # a user-defined function: its class is made per call, and what it compiles to is on the class
        if getattr(cls, "__input_type__", None) is None or cls.__input_type__.name != "BUILTIN":
            raise _NoShape(cls.__qualname__)
        return f"udf:{cls.__func_name__!r}:{self.value(cls.__udf_namespace__)}:{cls.dtype!r}:{tuple(cls.__argnames__)}"

    def _name(self, name: str) -> str:
        if not VOLATILE_NAME.match(name):
            return f"name:{name!r}"
        if name not in self.names:
            self.names.append(name)
        return f"volatile:{self.names.index(name)}"


def _comparable(sql: str) -> str:
    """The statement without what two compiles of one expression may write differently: the aliases Ibis
    draws at random for an unnest, and the order of the columns an EXCLUDE lists (a set, which two
    processes iterate in two orders)."""
    sql = re.sub(r"ibis_table_unnest(_column)?_[a-z0-9]{26}", r"ibis_table_unnest\1_ALIAS", sql)
    return re.sub(r"EXCLUDE \(([^()]*)\)", lambda m: "EXCLUDE (" + ", ".join(sorted(m.group(1).split(", "))) + ")", sql)


def _with_names(kept: tuple[tuple[str, ...], bytes], names: tuple[str, ...]) -> Any:
    """The kept tree with this statement's volatile names in place of those it was compiled with, or None
    when they cannot be swapped in place (names of another length: a pickle counts a text's bytes)."""
    old, data = kept
    if len(old) != len(names):
        return None
    swap = {o.encode(): n.encode() for o, n in zip(old, names) if o != n}
    if any(len(o) != len(n) or not n.isascii() for o, n in swap.items()):
        return None
    if swap:  # one pass: a name swapped in is never swapped again
        data = re.sub(b"|".join(re.escape(o) for o in swap), lambda m: swap[m.group(0)], data)
    try:
        return _load_tree(data)
    except Exception:
        return None


def _load_tree(data: bytes) -> Any:
    return _SqlglotUnpickler(io.BytesIO(data)).load()


class _SqlglotUnpickler(pickle.Unpickler):
    """Makes sqlglot expressions and nothing else: a sqlglot tree pickles as ``sqlglot.serde.load`` of
    plain lists and dicts naming its classes, and those names are checked before any is made."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("sqlglot.serde", "load"):
            return _checked_serde_load
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a sqlglot tree")


def _checked_serde_load(payloads: Any) -> Any:
    from sqlglot import serde

    for payload in payloads or ():
        name = payload.get("c") if isinstance(payload, dict) else None
        if name is not None and not (
            name == "DataType.Type" or "." not in name or name.startswith("sqlglot.expressions.")
        ):
            raise pickle.UnpicklingError(f"{name} is not a sqlglot expression")
    return serde.load(payloads)


def _versions_tag() -> str:
    import ibis
    import sqlglot

    text = f"ibis {ibis.__version__} sqlglot {sqlglot.__version__} python {sys.version_info[:2]}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _private_folder(folder: Path) -> Path | None:
    """The folder, made if need be, when only this user can write to it; else None (keep in memory only):
    a tree read from a folder others can write to would run what they put there."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.stat()
        owner = getattr(os, "getuid", None)  # not on Windows, where a user's cache folder is private
        if owner is not None and (st.st_uid != owner() or st.st_mode & 0o022):
            return None
    except OSError:
        return None
    return folder


def _prune(folder: Path, kept: int) -> None:
    """Remove the least recently used files beyond ``kept``."""
    try:
        entries = [(e.stat().st_mtime, e.path) for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return
    for _, path in sorted(entries, reverse=True)[kept:]:
        try:
            os.unlink(path)
        except OSError:
            pass
