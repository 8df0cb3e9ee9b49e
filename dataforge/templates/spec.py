"""Load and validate a template family: rules/templates/<family>.yaml (yaml.safe_load).

A family file declares how raw fields become template variables (`fields`), the label
verbalizers, and its templates (`templates`, plus `inverted` ones for input inversion).
Every error names the file, the template and, where it can, the line.
See docs/templates.md for the format.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any


from dataforge.errors import ConfigError
from dataforge.templates import plain, sandbox

from dataforge.paths import RULES as _ROOT
from dataforge.rulefiles import parse_yaml

RULES = _ROOT / "templates"
PIECES = ("instruction", "input", "output")
# variables every template may use besides the family's fields
DERIVED = {"answer_choices", "label_id"}
FAMILY_KEYS = {"family", "description", "task", "dataset", "lang", "fields", "labels", "choices",
               "formats", "json_key", "system", "templates", "inverted", "explode", "select", "passthrough",
               "few_shot_distinct"}
TEMPLATE_KEYS = {"id", "instruction", "input", "output", "original_task", "options", "labels",
                 "task", "lang", "formats", "description", "requires"}
FIELD_KEYS = {"column", "labels", "label_aliases", "path", "join", "optional", "default", "find", "lookup", "list",
              "letters"}


@dataclass(frozen=True)
class FieldSpec:
    """How one template variable is read from a raw row (see fields.derive)."""

    name: str
    column: str
    labels: dict[str, str] | None = None  # label id (as text) -> words
    # other names of the column in other datasets' layouts ("premise" for e-SNLI's
    # "Sentence1"): the first the rows have is read (YAML: `column: [Sentence1, premise]`)
    aliases: tuple = ()
    # other spellings of label ids (YAML: `label_aliases: {0: entailment}`); a label's own
    # words ("positive" for id 1) and any case are accepted without being listed
    label_aliases: dict[str, str] | None = None
    path: tuple = ()  # steps into nested data: int -> list element, str -> struct field
    join: str | None = None  # list of strings -> one string (after `path`)
    find: dict | None = None  # list of structs -> `take` of the first whose `where` == `equals`
    lookup: dict | None = None  # {keys: var, values: var}: values[keys.index(this)]
    list: bool = False  # keep a list (answer choices of multiple-choice rows)
    letters: bool = False  # a plain list without this field (MMLU's choices): A, B, C, ... by position
    optional: bool = False
    default: str = ""

    def resolve(self, columns) -> str:
        """The column to read: the first of `column` and its aliases that `columns` has."""
        return next((c for c in (self.column, *self.aliases) if c in columns), self.column)


@dataclass
class Template:
    id: str
    family: str
    pieces: dict[str, str]  # instruction / input / output sources
    direction: str = "forward"  # or "inverted"
    original_task: bool = False
    options: str = "hidden"  # answer options shown or hidden by default; none: not applicable
    labels: dict[str, str] | None = None  # verbalizer; None: the family's
    task: str | None = None
    lang: str | None = None
    formats: list[str] | None = None
    line: int | None = None
    where: str = ""
    plain: dict[str, list | None] = field(default_factory=dict)  # piece -> parts, None = Jinja
    jinja: dict[str, Any] = field(default_factory=dict)
    needs: set[str] = field(default_factory=set)  # variables that must be present
    requires: set[str] = field(default_factory=set)  # optional fields this template needs (non-blank)
    uses: set[str] = field(default_factory=set)  # every variable it reads
    prompt_uses: set[str] = field(default_factory=set)  # the variables its instruction and input read

    @property
    def key(self) -> str:
        return f"{self.family}/{self.id}"

    @property
    def is_plain(self) -> bool:
        return all(p is not None for p in self.plain.values())


@dataclass
class Family:
    name: str
    path: Path
    task: str
    dataset: str
    lang: str
    fields: dict[str, FieldSpec]
    labels: dict[str, str] | None
    label_field: str | None
    choices: str | None  # a list field holding per-row answer choices
    formats: list[str]
    json_key: str
    system: list[str]
    templates: list[Template]
    inverted: list[Template]
    explode: list[str]
    select: str
    passthrough: bool = True  # rows already in instruction form pass `convert` unchanged
    # fields a few-shot exemplar must not share with its query (SQuAD: the passage, whose
    # other questions would leak context and sometimes the answer)
    few_shot_distinct: list[str] = field(default_factory=list)
    # the fields a forward template shows in its prompt (not the answer): a few-shot exemplar
    # whose text in these fields is the query's (a duplicate under another id) is not used
    input_fields: list[str] = field(default_factory=list)
    description: str = ""
    digest: str = ""

    def all_templates(self) -> list[Template]:
        return self.templates + self.inverted

    def get(self, tid: str) -> Template:
        for t in self.all_templates():
            if t.id == tid:
                return t
        raise ConfigError(f"{self.path}: family '{self.name}' has no template '{tid}'; "
                          f"templates: {[t.id for t in self.all_templates()]}")

    def fits(self, columns: set[str], rename: dict[str, str] | None = None) -> bool:
        """Some template of this family finds every column it needs among `columns`."""
        rename = rename or {}
        for t in self.templates:
            need = {rename.get(n) or self.fields[n].resolve(columns) for n in t.needs}
            if need <= columns:
                return True
        return False


def family_names() -> list[str]:
    return sorted(p.stem for p in RULES.glob("*.yaml") if not p.stem.startswith("_"))


def resolve(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    cand = RULES / f"{name_or_path}.yaml"
    if cand.exists():
        return cand
    raise ConfigError(f"unknown template family '{name_or_path}'; built-in: {family_names()} "
                      "(or give the path of a .yaml file)")


def load_family(name_or_path: str) -> Family:
    path = resolve(name_or_path)
    return _load(str(path.resolve()), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _load(path_s: str, _mtime: int) -> Family:
    path = Path(path_s)
    text = path.read_text(encoding="utf-8")
    where = _rel(path)
    doc = parse_yaml(text, where)
    if not isinstance(doc, dict) or "templates" not in doc:
        raise ConfigError(f"{where}: a template family is a mapping with `family`, `fields` and `templates`")
    _unknown(doc, FAMILY_KEYS, where)
    name = str(doc.get("family") or path.stem)
    fields = {k: _field(k, v, where) for k, v in (doc.get("fields") or {}).items()}
    label_fields = [f for f in fields.values() if f.labels is not None]
    fam = Family(
        name=name, path=path, task=str(doc.get("task", "unknown")), dataset=str(doc.get("dataset", name)),
        lang=str(doc.get("lang", "en")), fields=fields,
        labels=label_fields[0].labels if label_fields else None,
        label_field=label_fields[0].name if label_fields else None,
        choices=doc.get("choices"), formats=list(doc.get("formats") or []),
        json_key=str(doc.get("json_key", "answer")), system=[str(s) for s in doc.get("system") or []],
        templates=[], inverted=[], explode=list(doc.get("explode") or []),
        select=str(doc.get("select", "uniform")), passthrough=bool(doc.get("passthrough", True)),
        few_shot_distinct=[str(x) for x in doc.get("few_shot_distinct") or []],
        description=str(doc.get("description", "")).strip(),
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )
    if fam.select not in ("uniform", "match", "all"):
        raise ConfigError(f"{where}: select must be uniform, match or all")
    if fam.choices and (fam.choices not in fields or not fields[fam.choices].list):
        raise ConfigError(f"{where}: choices '{fam.choices}' must name a field with `list: true`")
    lines = text.splitlines()
    for direction, key in (("forward", "templates"), ("inverted", "inverted")):
        for i, t in enumerate(doc.get(key) or []):
            tpl = _template(t, i, key, direction, fam, lines, where)
            getattr(fam, key).append(tpl)
    answers = {fam.label_field, "rationale"} | {f.name for f in fields.values() if f.lookup}
    fam.input_fields = sorted({n for t in fam.templates for n in t.prompt_uses if n in fields} - answers)
    ids = [t.id for t in fam.all_templates()]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{where}: duplicate template id(s) {dup}")
    if not fam.templates:
        raise ConfigError(f"{where}: family '{name}' has no templates")
    return fam


def _field(name: str, spec: Any, where: str) -> FieldSpec:
    if spec is None or isinstance(spec, str):
        return FieldSpec(name=name, column=spec or name)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: field '{name}' must be a column name or a mapping")
    _unknown(spec, FIELD_KEYS, f"{where}: field '{name}'")
    for key, need in (("find", {"where", "equals", "take"}), ("lookup", {"keys", "values"})):
        if key in spec and (not isinstance(spec[key], dict) or set(spec[key]) != need):
            raise ConfigError(f"{where}: field '{name}': `{key}` needs exactly the keys {sorted(need)}")
    labels = spec.get("labels")
    if labels == "given":  # the classes come from convert's `labels` (a family for any dataset)
        labels = {}
    elif labels is not None:
        if not isinstance(labels, dict):
            raise ConfigError(f"{where}: field '{name}': `labels` maps label ids to words, or says `given`")
        labels = {str(k): str(v) for k, v in labels.items()}
    aliases = spec.get("label_aliases")
    if aliases is not None:
        if not isinstance(aliases, dict) or labels is None or not set(map(str, aliases.values())) <= set(labels):
            raise ConfigError(f"{where}: field '{name}': `label_aliases` maps other spellings to ids of `labels`")
        aliases = {str(k): str(v) for k, v in aliases.items()}
    cols = [str(c) for c in _as_list(spec.get("column", name))]
    if not cols:
        raise ConfigError(f"{where}: field '{name}': `column` names no column")
    return FieldSpec(name=name, column=cols[0], aliases=tuple(cols[1:]), labels=labels, label_aliases=aliases,
                     path=tuple(_as_list(spec.get("path"))), join=spec.get("join"),
                     find=spec.get("find"), lookup=spec.get("lookup"), list=bool(spec.get("list", False)),
                     letters=bool(spec.get("letters", False)),
                     optional=bool(spec.get("optional", False)), default=str(spec.get("default", "")))


def _as_list(v: Any) -> list:
    return [] if v is None else list(v) if isinstance(v, (list, tuple)) else [v]


def _template(t: Any, i: int, key: str, direction: str, fam: Family, lines: list[str], where: str) -> Template:
    if not isinstance(t, dict) or "id" not in t:
        raise ConfigError(f"{where}: {key}[{i}] must be a mapping with an `id`")
    tid = str(t["id"])
    line = _line_of(lines, tid)
    w = f"{where}:{line or '?'}: template '{tid}'"
    _unknown(t, TEMPLATE_KEYS, w)
    for p in ("instruction", "output"):
        if not isinstance(t.get(p), str) or not t[p].strip():
            raise ConfigError(f"{w}: needs a non-empty `{p}`")
    labels = t.get("labels")
    if labels is not None:
        labels = {str(k): str(v) for k, v in labels.items()}
        if fam.labels is not None and set(labels) != set(fam.labels):
            raise ConfigError(f"{w}: verbalizer keys {sorted(labels)} differ from the family's "
                              f"label ids {sorted(fam.labels)}")
    options = str(t.get("options", "hidden"))
    if options not in ("shown", "hidden", "none"):
        raise ConfigError(f"{w}: options must be 'shown', 'hidden' or 'none' (the answer is not one of them)")
    tpl = Template(id=tid, family=fam.name, pieces={p: str(t.get(p) or "") for p in PIECES},
                   direction=direction, original_task=bool(t.get("original_task", False)),
                   options=options, labels=labels, lang=t.get("lang"),
                   # an inverted template asks for the input: its task is writing it, not the family's
                   task=t.get("task") or ("text_generation" if direction == "inverted" else None),
                   formats=t.get("formats"), line=line, where=w)
    known = set(fam.fields) | DERIVED
    used: set[str] = set()
    for p, src in tpl.pieces.items():
        pline = _line_of(lines, None, start=line, key=p) if line else None
        parts = plain.parse(src)
        tpl.plain[p] = parts
        if parts is None:
            names = sandbox.variables(src, f"{w}, {p}", pline)
            tpl.jinja[p] = sandbox.compile_(src, f"{w}, {p}", pline)
        else:
            names = plain.names(parts)
        unknown = sorted(names - known)
        if unknown:
            raise ConfigError(f"{w}, {p}: unknown variable(s) {unknown}; fields: {sorted(known)}")
        # a plain template cannot test for absence: every variable it reads is required
        used |= names if parts is not None else {n for n in names if not _optional(fam, n)}
        tpl.uses |= names
        if p != "output":
            tpl.prompt_uses |= names
    tpl.needs = {n for n in used if n in fam.fields and not fam.fields[n].optional}
    # a derived variable needs the field it comes from: `label_id` is the row's label, so a
    # template that reads only `label_id` ({% if label_id == '1' %}) must still reject a row
    # whose label is missing or unknown rather than take its else branch
    if "label_id" in used and fam.label_field:
        tpl.needs.add(fam.label_field)
    # optional fields this template cannot do without ("Answer, then say why." needs the why)
    tpl.requires = {str(n) for n in _as_list(t.get("requires"))}
    bad = sorted(tpl.requires - set(fam.fields))
    if bad:
        raise ConfigError(f"{w}: `requires` names unknown field(s) {bad}; fields: {sorted(fam.fields)}")
    tpl.needs |= tpl.requires
    _dry_run(tpl, fam)
    return tpl


def _optional(fam: Family, n: str) -> bool:
    return n in fam.fields and fam.fields[n].optional


def _dry_run(tpl: Template, fam: Family) -> None:
    """Render Jinja pieces once with placeholder values: sandbox violations fail at load."""
    if not tpl.jinja:
        return
    derived = {"answer_choices": "x or y", "label_id": "0"}
    # text placeholders, then numbers: a list of ints (NER tag ids) indexes other lists
    rows = [{n: (["x", "y"] if f.list else "x") for n, f in fam.fields.items()} | derived,
            {n: ([0, 1] if f.list else "0") for n, f in fam.fields.items()} | derived]
    for p, j in tpl.jinja.items():
        first = None
        for row in rows:
            try:
                sandbox.render_rows(j, [row], f"{tpl.where}, {p}")
                break
            except ConfigError as e:
                if "unsafe template" in str(e):
                    raise
                first = first or e
        else:
            raise first


def _line_of(lines: list[str], tid: str | None, start: int | None = None, key: str | None = None) -> int | None:
    """1-based file line of `id: tid`, or of `key:` after line `start`."""
    if tid is not None:
        pat = re.compile(rf"^\s*-?\s*id:\s*['\"]?{re.escape(tid)}['\"]?\s*(#.*)?$")
        for n, line in enumerate(lines, start=1):
            if pat.match(line):
                return n
        return None
    pat = re.compile(rf"^\s*-?\s*{re.escape(key)}:\s*(.*)$")
    for n in range(start or 1, min(len(lines), (start or 1) + 40) + 1):
        m = pat.match(lines[n - 1])
        if m:
            # a block scalar (`|` or `>`) starts on the next line
            return n + 1 if m.group(1).strip()[:1] in ("|", ">") else n
    return None


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _unknown(d: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
