"""dataforge: build instruction-tuning datasets with composable Polars operators."""
from dataforge.errors import ConfigError, DataforgeError, InputError, SchemaError
from dataforge.io.source import Source
from dataforge.ops import base as _base
from dataforge.ops.base import FilterOp, GlobalOp, MapOp, Operator, RunContext, register
from dataforge.pipeline import OutputSpec, Pipeline, RunResult

__version__ = "0.3.0"


def op(name: str, **params) -> Operator:
    """Create a registered operator by its recipe name: `dataforge.op("length", min_chars=1)`."""
    return _base.create(name, params)


def load_recipe(path):
    from dataforge import recipe

    return recipe.load(path)


__all__ = [
    "ConfigError", "DataforgeError", "FilterOp", "GlobalOp", "InputError", "MapOp", "Operator",
    "OutputSpec", "Pipeline", "RunContext", "RunResult", "SchemaError", "Source", "load_recipe",
    "op", "register",
]
