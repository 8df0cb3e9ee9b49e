"""Operator kinds (map, filter, global), typed parameters and the registry.

An operator is a small class: its parameters are annotated fields (validated on
construction), `setup()` loads heavy resources once per worker, `columns_in()` /
`columns_out()` declare what it reads and writes, and `name` registers it for recipes.

    @register
    class MinLength(FilterOp):
        name = "min_length"
        field: str = "output"
        min_chars: int = 1
        def reasons(self, df):
            return pl.when(pl.col(self.field).str.len_chars() < self.min_chars) \
                     .then(pl.lit("too_short")).otherwise(None)

Any operator may reject rows by returning a `_reject` column (reason string, null keeps
the row) and an optional `_reject_detail` JSON column; the engine moves those rows to
`rejects/` with the stage and operator name. Nothing disappears silently.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

import polars as pl

from dataforge.errors import ConfigError
from dataforge.schema import REJECT, REJECT_DETAIL

KINDS = ("map", "filter", "global")
param = field  # `items: list[str] = param(default_factory=list)` for mutable defaults
REGISTRY: dict[str, type["Operator"]] = {}


@dataclass
class RunContext:
    """What an operator may know about the run it is part of."""

    out: Path | None = None
    seed: int = 0
    llm: str | None = None  # backend spec from --llm or the recipe
    embedding: str | None = None  # run-wide default embedding model (static, minilm, a path)
    stage: str = ""
    source: str | None = None  # the source whose read stage runs this (per-source operators)

    def cache_dir(self, kind: str) -> Path | None:
        if self.out is None:
            return None
        p = Path(self.out) / "cache" / kind
        p.mkdir(parents=True, exist_ok=True)
        return p


class Operator:
    """Base of all operators. Subclasses are dataclasses with keyword-only fields."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    version: ClassVar[str] = "1"  # bump when behaviour changes, to invalidate checkpoints
    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    adds_rows: ClassVar[bool] = False  # may emit more rows than it receives (augment, generate)
    resources: ClassVar[dict] = {}  # e.g. {"num_gpus": 1} for the Ray engine
    driver_only: ClassVar[str | None] = None  # why the Ray engine must run it on the driver, if it must
    # its process() may run on two batches at once in threads (Polars work, no state changed
    # per batch, setup done first): the local engine then overlaps batches on more cores
    batch_parallel: ClassVar[bool] = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        dataclass(kw_only=True, eq=True, repr=True)(cls)
        init = cls.__init__

        def __init__(self, *args, **params):
            if args:
                raise ConfigError(f"operator '{cls.name or cls.__name__}' takes keyword parameters only")
            unknown = [k for k in params if k not in _param_types(cls)]
            if unknown:
                raise ConfigError(
                    f"operator '{cls.name or cls.__name__}': unknown parameter(s) {unknown}; "
                    f"valid: {describe_params(cls)}"
                )
            try:
                init(self, **params)
            except TypeError as e:  # a required parameter is missing
                raise ConfigError(
                    f"operator '{cls.name or cls.__name__}': {e}; valid: {describe_params(cls)}"
                ) from None
            self._validate()
            self.ctx = RunContext()
            self._ready = False

        __init__.__wrapped__ = init
        cls.__init__ = __init__

    # -- parameters -----------------------------------------------------------
    def _validate(self) -> None:
        for pname, tp in _param_types(type(self)).items():
            value = getattr(self, pname)
            if not _check(value, tp):
                raise ConfigError(
                    f"operator '{self.name}': parameter '{pname}' must be {_type_name(tp)}, "
                    f"got {type(value).__name__} {value!r}; valid: {describe_params(type(self))}"
                )
        self.validate()

    def validate(self) -> None:
        """Cross-parameter checks; raise ConfigError."""

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def fingerprint(self) -> str:
        """Identity of this operator's behaviour, used as a checkpoint key."""
        blob = json.dumps(
            {"op": self.name, "v": self.version, "params": self.params(), "extra": self.fingerprint_extra()},
            sort_keys=True, default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def fingerprint_extra(self) -> Any:
        """Anything else the output depends on (e.g. the content of a rules file)."""
        return None

    # -- columns --------------------------------------------------------------
    def columns_in(self) -> list[str]:
        return list(self.inputs)

    def columns_out(self) -> list[str]:
        return list(self.outputs)

    # -- lifecycle ------------------------------------------------------------
    def bind(self, ctx: RunContext) -> "Operator":
        self.ctx = ctx
        return self

    def setup(self) -> None:
        """Load heavy resources (models, indexes). Called once per worker before use."""

    def report_metrics(self) -> dict:
        """Dataset-level numbers or notes (e.g. a model licence), stored in the manifest's
        `metrics` under the stage name and drawn by the report."""
        return {}

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True


class MapOp(Operator):
    """Batch in, batch out. May add columns; rows only when `adds_rows` is True."""

    kind: ClassVar[str] = "map"

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def process(self, df: pl.DataFrame) -> pl.DataFrame:
        return self.map(df)


class FilterOp(Operator):
    """Gives each row a drop reason (string) or null; the engine routes the drops."""

    kind: ClassVar[str] = "filter"

    def reasons(self, df: pl.DataFrame) -> pl.Expr | pl.Series:
        raise NotImplementedError

    def process(self, df: pl.DataFrame) -> pl.DataFrame:
        r = self.reasons(df)
        if isinstance(r, pl.Series):
            r = pl.lit(r)
        prev = pl.col(REJECT) if REJECT in df.columns else pl.lit(None, dtype=pl.Utf8)
        return df.with_columns(pl.coalesce(prev, r.cast(pl.Utf8)).alias(REJECT))


class GlobalOp(Operator):
    """Needs every row at once (dedup, selection, dataset metrics).

    `run` receives a LazyFrame over the previous stage's checkpoint and returns a
    DataFrame: the same rows (or more, if `adds_rows`), rejects marked in `_reject`.
    Dataset-level numbers for the report come from `report_metrics()`.

    The operator may carry its distributed form next to `run`: a method `run_ray(rows)`,
    which the Ray engine calls instead of running `run` on the driver. `rows`
    (`dataforge.engine.ray_globals.Rows`) is the previous stage's rows on the cluster:
    `rows.dataset(columns)` is a Ray Dataset with `__row`, each row's position, and the
    module has generic kernels (`hash_members`, `gather`, `ranked`). `run_ray` returns its
    decisions, one row per rejected row: `__row`, `_reject`, optionally `_reject_detail`
    (a Polars frame or a Ray Dataset); `report_metrics()` is asked afterwards. It must
    decide what `run` decides, reusing the same expressions: the engine applies the
    decisions in input order and cuts the parts as for `run`, so the bytes match.
    """

    kind: ClassVar[str] = "global"

    def run(self, lf: pl.LazyFrame) -> pl.DataFrame:
        raise NotImplementedError

    def process(self, df: pl.DataFrame) -> pl.DataFrame:
        return self.run(df.lazy())


# -- registry ---------------------------------------------------------------------

def register(cls: type[Operator]) -> type[Operator]:
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a `name` to be registered")
    if cls.kind not in KINDS:
        raise TypeError(f"{cls.__name__}.kind must be one of {KINDS}")
    other = REGISTRY.get(cls.name)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise TypeError(f"operator name '{cls.name}' is taken by {other.__module__}.{other.__qualname__}")
    REGISTRY[cls.name] = cls
    return cls


def load_all() -> dict[str, type[Operator]]:
    """Import every module under dataforge.ops so their operators register."""
    import importlib
    import pkgutil

    import dataforge.ops as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"dataforge.ops.{mod.name}")
    return REGISTRY


def get(name: str) -> type[Operator]:
    load_all()
    if name not in REGISTRY:
        import difflib

        near = difflib.get_close_matches(name, REGISTRY, n=3)
        hint = f" Did you mean {near}?" if near else ""
        raise ConfigError(f"unknown operator '{name}'.{hint} Run `dataforge ops` for the list.")
    return REGISTRY[name]


def create(name: str, params: dict | None = None) -> Operator:
    return get(name)(**(params or {}))


# -- typed parameters -------------------------------------------------------------

def _param_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if not f.name.startswith("_")}


def describe_params(cls: type) -> str:
    out = []
    for f in dataclasses.fields(cls):
        tp = _param_types(cls).get(f.name, Any)
        out.append(f"{f.name}: {_type_name(tp)}")
    return ", ".join(out) or "(none)"


def param_table(cls: type) -> list[dict]:
    rows = []
    types_ = _param_types(cls)
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = "(required)"
        rows.append({"name": f.name, "type": _type_name(types_[f.name]), "default": default})
    return rows


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is Any:
        return "any"
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(tp) if a is not Ellipsis)}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _check(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_check(value, a) for a in typing.get_args(tp))
    if origin is Literal:
        return value in typing.get_args(tp)
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        (a,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(_check(v, a) for v in value)
    if origin is tuple:
        args = typing.get_args(tp)
        return isinstance(value, (tuple, list)) and all(_check(v, args[0]) for v in value)
    if origin is dict:
        k, v = typing.get_args(tp) or (Any, Any)
        return isinstance(value, dict) and all(_check(a, k) and _check(b, v) for a, b in value.items())
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def reject_where(df: pl.DataFrame, mask: pl.Expr | pl.Series, reason: pl.Expr | str,
                 detail: pl.Expr | None = None) -> pl.DataFrame:
    """Mark rows matching `mask` as rejected (keeping an earlier reason if any)."""
    if isinstance(mask, pl.Series):
        mask = pl.lit(mask)
    r = pl.lit(reason) if isinstance(reason, str) else reason
    prev = pl.col(REJECT) if REJECT in df.columns else pl.lit(None, dtype=pl.Utf8)
    cols = [pl.coalesce(prev, pl.when(mask).then(r).otherwise(None)).cast(pl.Utf8).alias(REJECT)]
    if detail is not None:
        prev_d = pl.col(REJECT_DETAIL) if REJECT_DETAIL in df.columns else pl.lit(None, dtype=pl.Utf8)
        cols.append(pl.coalesce(prev_d, pl.when(mask).then(detail).otherwise(None)).cast(pl.Utf8).alias(REJECT_DETAIL))
    return df.with_columns(cols)
