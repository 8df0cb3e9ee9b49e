"""Training-ready layouts written beside the canonical shards: `output.formats` in a recipe.

    output: {formats: [messages, alpaca, sharegpt, preference, text]}

Each format is a function `pl.DataFrame -> pl.DataFrame` over canonical rows; the pipeline
writes its result to `OUT/<format>/{split}-NNNNN-of-NNNNN.parquet`. Every layout keeps `id`
so an exported row can be traced back to `data/` and the manifest.

- messages:   `messages` = [{role, content}] (OpenAI / TRL conversational), system first when set
- alpaca:     instruction, input, output, system
- sharegpt:   `conversations` = [{from: system|human|gpt, value}]
- preference: prompt, chosen, rejected (+ system); needs the `rejected` column that the
              `preference_pairs` operator emits (keep it with `output.keep_columns: [rejected]`);
              every row must be a pair (exports are row-for-row views of data/)
- text:       one `text` column rendered with a chat template: `text` uses the built-in ChatML
              template, `text-NAME` the template rules/chat_templates/NAME.jinja, and
              `get("text", tokenizer=DIR)` a tokenizer's own chat template.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

import polars as pl

from dataforge.errors import ConfigError, MissingResourceError
from dataforge.io.shards import check_name

Export = Callable[[pl.DataFrame], pl.DataFrame]
from dataforge.paths import RULES

TEMPLATES_DIR = RULES / "chat_templates"
_REGISTRY: dict[str, Callable[..., pl.DataFrame]] = {}


def register(name: str):
    def deco(fn):
        _REGISTRY[name] = fn
        return fn
    return deco


def names() -> list[str]:
    return sorted(_REGISTRY) + [f"text-{t}" for t in _builtin()]


def check(spec) -> str:
    """Check an `output.formats` entry (a name, or {name: {options}}) without loading anything;
    return the format name. Names become folders under OUT, so they must be plain names."""
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise ConfigError(f"a format with options is a one-key mapping like {{text: {{tokenizer: DIR}}}}, got {spec!r}")
        name, opts = next(iter(spec.items()))
        if opts is not None and not isinstance(opts, dict):
            raise ConfigError(f"options of format {name!r} must be a mapping, got {opts!r}")
        unknown = sorted(set(opts or {}) - ({"tokenizer", "template"} if name == "text" else set()))
        if unknown:
            raise ConfigError(f"format {name!r}: unknown option(s) {unknown}"
                              + ("; valid: ['template', 'tokenizer']" if name == "text" else "; it takes none"))
    else:
        name = spec
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a format name must be text, got {name!r}; valid choices: {names()}")
    base, _, variant = name.partition("-")
    if base == "text" and variant:
        _template_path(variant)
    elif name not in _REGISTRY:
        raise ConfigError(f"unknown export format '{name}'; valid choices: {names()}")
    check_name(name, "export format")
    return name


def _template_path(template: str) -> Path:
    """rules/chat_templates/NAME.jinja; NAME may not reach outside that folder."""
    try:
        check_name(template, "chat template name")
    except ConfigError as e:
        raise ConfigError(f"{e}; built-in: {_builtin()}") from None
    path = TEMPLATES_DIR / f"{template}.jinja"
    if not path.is_file():
        raise ConfigError(f"no chat template '{template}' in {TEMPLATES_DIR}; built-in: {_builtin()}; "
                          f"valid formats: {names()}")
    return path


def _builtin() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.jinja")) if TEMPLATES_DIR.is_dir() else []


def get(name: str, **options) -> Export:
    """The export function for a format name; options go to the format (e.g. tokenizer=DIR)."""
    check(name)
    base, _, variant = name.partition("-")
    if base == "text" and variant:
        options.setdefault("template", variant)
    fn = _REGISTRY[base if base == "text" else name]
    if base == "text":  # load and check the template once, not per batch
        options["render"] = _renderer(options.pop("template", "chatml"), options.pop("tokenizer", None))
    return partial(fn, **options) if options else fn


# -- shared expressions -------------------------------------------------------------

def _has(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & (pl.col(col).str.strip_chars() != "")


def prompt_expr() -> pl.Expr:
    """The user turn: the instruction, then the input (context) after a blank line when present."""
    return (pl.when(_has("input"))
            .then(pl.concat_str([pl.col("instruction"), pl.lit("\n\n"), pl.col("input")]))
            .otherwise(pl.col("instruction")))


def _turns(role_key: str, content_key: str, roles: tuple[str, str, str], df: pl.DataFrame) -> pl.Expr:
    def turn(role: str, content: pl.Expr) -> pl.Expr:
        return pl.struct(pl.lit(role).alias(role_key), content.cast(pl.Utf8).alias(content_key))

    sys_, user, asst = roles
    pair = [turn(user, prompt_expr()), turn(asst, pl.col("output"))]
    if "system" not in df.columns:
        return pl.concat_list(pair)
    return (pl.when(_has("system"))
            .then(pl.concat_list([turn(sys_, pl.col("system"))] + pair))
            .otherwise(pl.concat_list(pair)))


# -- formats ------------------------------------------------------------------------

@register("messages")
def messages(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(pl.col("id"), _turns("role", "content", ("system", "user", "assistant"), df).alias("messages"))


@register("sharegpt")
def sharegpt(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(pl.col("id"), _turns("from", "value", ("system", "human", "gpt"), df).alias("conversations"))


@register("alpaca")
def alpaca(df: pl.DataFrame) -> pl.DataFrame:
    system = pl.col("system") if "system" in df.columns else pl.lit(None, dtype=pl.Utf8).alias("system")
    return df.select("id", "instruction", "input", "output", system)


@register("preference")
def preference(df: pl.DataFrame) -> pl.DataFrame:
    if "rejected" not in df.columns:
        raise ConfigError(
            "the `preference` format needs a `rejected` column: add the `preference_pairs` step "
            "and keep its column with `output: {keep_columns: [rejected]}`"
        )
    unpaired = df.select((~_has("rejected")).sum()).item()
    if unpaired:
        # Exports are row-for-row views of data/: an unpaired row would vanish without a reason.
        raise ConfigError(
            f"the `preference` format: {unpaired} row(s) have no `rejected` response; `preference_pairs` "
            "rejects unpaired rows (with a reason), so put it after every step that adds rows"
        )
    system = pl.col("system") if "system" in df.columns else pl.lit(None, dtype=pl.Utf8).alias("system")
    return df.select("id", prompt_expr().alias("prompt"), pl.col("output").alias("chosen"),
                     pl.col("rejected").cast(pl.Utf8), system)


@register("text")
def text(df: pl.DataFrame, *, render: Callable[[list[dict]], str]) -> pl.DataFrame:
    convo = messages(df)["messages"].to_list()
    # Templates are arbitrary Jinja: no expression can render them, so this is per row.
    return pl.DataFrame({"id": df["id"], "text": pl.Series([render(m) for m in convo], dtype=pl.Utf8)})


# -- chat templates -----------------------------------------------------------------

def _renderer(template: str, tokenizer: str | None) -> Callable[[list[dict]], str]:
    if tokenizer:
        return _tokenizer_renderer(tokenizer)
    path = _template_path(template)
    import jinja2

    from dataforge import rulefiles

    try:
        tpl = rulefiles.jinja_env(keep_trailing_newline=True).from_string(path.read_text(encoding="utf-8"))
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(f"{path}:{e.lineno}: chat template syntax error: {e.message}") from None

    def render(msgs: list[dict]) -> str:
        try:
            return tpl.render(messages=msgs)
        except jinja2.exceptions.SecurityError as e:
            raise ConfigError(f"{path}: unsafe chat template refused by the sandbox: {e}") from None
        except (jinja2.TemplateError, TypeError, OverflowError, RecursionError, ValueError) as e:
            raise ConfigError(f"{path}: chat template failed: {type(e).__name__}: {e}") from None
    return render


def _tokenizer_renderer(path: str) -> Callable[[list[dict]], str]:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingResourceError("a tokenizer chat template needs `pip install dataforge[ml]`") from None
    if not Path(path).exists():
        raise MissingResourceError(f"tokenizer directory {path} not found (nothing is downloaded at run time)")
    tok = AutoTokenizer.from_pretrained(path)
    if not getattr(tok, "chat_template", None):
        raise ConfigError(f"the tokenizer in {path} has no chat_template; use a built-in one (text-chatml)")
    return lambda msgs: tok.apply_chat_template(msgs, tokenize=False)
