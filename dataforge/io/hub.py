"""Publishing an output folder to the Hugging Face Hub: licence derivation, dataset card, upload plan.

    card = build_card(out, repo_id)          # README.md text + the warnings it carries
    files = plan(out)                        # exactly what would be uploaded
    upload(out, files, repo_id, token=...)   # one commit with huggingface_hub

The token comes from HF_TOKEN or the login cache (`hf auth login`) and is handed to
huggingface_hub only: it is never printed, logged or written.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dataforge.errors import ConfigError, InputError, MissingResourceError

from dataforge.paths import RULES
CARD_TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates"
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))


# -- licences -----------------------------------------------------------------------

@dataclass
class Licensing:
    sources: list[dict]  # manifest sources + license, notes
    hub: list[str]  # Hub licence ids for the card header
    warnings: list[str] = field(default_factory=list)
    other_names: list[str] = field(default_factory=list)
    other_ids: list[str] = field(default_factory=list)  # license_name ids of the `other` licences
    links: dict[str, str | None] = field(default_factory=dict)  # SPDX id -> terms URL


def load_license_rules(path: str | Path | None = None) -> dict:
    path = Path(path) if path else RULES / "licenses.yaml"
    try:
        from dataforge.rulefiles import parse_yaml

        doc = parse_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    except OSError as e:
        raise ConfigError(f"{path}: cannot read licence rules: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: licence rules are not UTF-8 text: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}:1: expected a mapping with `licenses:` and `sources:`")
    if not isinstance(doc.get("licenses", {}), dict) or not isinstance(doc.get("sources", []), list):
        raise ConfigError(f"{path}: expected `licenses:` (mapping) and `sources:` (list of rules)")
    return doc


def merged_license_rules(path: str | Path | None = None) -> dict:
    """The shipped rules with the publisher's own file (`--licenses FILE`) on top: its `licenses`
    add to or replace the shipped terms, its `sources` rules are tried first. A file of
    declarations for one's own sources thus keeps the sample files' entries and the terms of
    the common licences."""
    base = load_license_rules()
    if not path or Path(path).resolve() == (RULES / "licenses.yaml").resolve():
        return base
    own = load_license_rules(path)
    return {"licenses": {**base.get("licenses", {}), **own.get("licenses", {})},
            "sources": list(own.get("sources", [])) + list(base.get("sources", []))}


def upstream_sources(sources: list[dict], depth: int = 5) -> list[dict]:
    """A source that is an earlier dataforge run's output (its shards, or the folder) stands for
    that run's own sources: their terms apply to its rows (scoring once, then selecting over
    the saved shards, had left the card with one source of unknown licence)."""
    out = []
    for s in sources:
        up = _run_manifest(s.get("path")) if depth > 0 else None
        if up is None:
            out.append(s)
            continue
        for u in upstream_sources(up.get("sources", []), depth - 1):
            out.append(u | {"name": u["name"], "via": s["name"]})
    return out


def _run_manifest(path: str | None) -> dict | None:
    if not path or path == "<in-memory>":
        return None
    p = Path(path)
    for cand in (p, p.parent, p.parent.parent):
        m = cand / "manifest.json"
        if cand.is_dir() and m.is_file():
            try:
                doc = json.loads(m.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return doc if isinstance(doc, dict) and "sources" in doc and "shards" in doc else None
    return None


def derive_licenses(manifest: dict, rules: dict, override: str | None = None) -> Licensing:
    terms = rules.get("licenses", {})
    sources, warnings = [], []
    for s in upstream_sources(manifest.get("sources", [])):
        rule = _match(s, rules.get("sources", [])) or {}
        lic = rule.get("license")
        ids = [str(x) for x in (lic if isinstance(lic, list) else [lic] if lic else [])]
        sources.append(s | {
            "licenses": [{"id": i, "hub": terms.get(i, {}).get("hub", "other"), "url": terms.get(i, {}).get("url")}
                         for i in ids],
            "license": ", ".join(ids) or None, "url": rule.get("url"), "citation": rule.get("citation"),
            "notes": rule.get("notes")})
    unknown = [s["name"] for s in sources if not s["licenses"]]
    if unknown:
        warnings.append(f"no licence known for source(s) {unknown}: the card says 'unknown' for their "
                        "upstream, licence and citation. Declare them in a licence rules file, e.g. "
                        f"`sources: [{{source: {unknown[0]}, license: SPDX-ID, url: UPSTREAM-URL}}]`, and "
                        "publish with --licenses FILE (or set the dataset's licence with --license ID)")
    spdx = sorted({x["id"] for s in sources for x in s["licenses"]})
    info = {k: terms.get(k, {}) for k in spdx}
    missing_terms = [k for k in spdx if k not in terms]
    if missing_terms:
        warnings.append(f"licence(s) {missing_terms} have no terms in the licence rules; treated as 'other'")
    nc = [s["name"] for s in sources if any(info[x["id"]].get("commercial") is False for x in s["licenses"])]
    sa = sorted({k for k in spdx if info[k].get("share_alike")})
    if nc:
        warnings.append(f"source(s) {nc} are not licensed for commercial use: neither is this dataset")
    if sa and len(spdx) > 1:
        # the terms that clash with share-alike: another share-alike licence, or a non-commercial
        # one (a permissive licence such as MIT allows relicensing and clashes with nothing)
        nc_ids = sorted({k for k in spdx if info[k].get("commercial") is False and k not in sa})
        if len(sa) > 1 or nc:
            clash = sa if len(sa) > 1 else nc_ids
            warnings.append(f"licence conflict: share-alike {sa} requires derivatives under the same licence, "
                            f"which the terms of {clash} do not allow; the combination may not be "
                            "redistributable")
        else:
            warnings.append(f"share-alike: {sa[0]} requires the combined dataset to be shared under {sa[0]}")
    hub = sorted({info[k].get("hub", "other") for k in spdx}) or ["unknown"]
    if unknown and "unknown" not in hub:
        hub.append("unknown")
    others = [k for k in spdx if info[k].get("hub", "other") == "other"]
    names = [info[k].get("name", k) for k in others]
    lic = Licensing(sources, hub, warnings, names)
    lic.other_ids = [str(info[k].get("hub_name") or _slug(k)) for k in others]
    lic.links = {k: info[k].get("url") for k in spdx}
    if override:
        lic.hub, lic.other_names, lic.other_ids = [override.lower()], [], []
    return lic


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def _match(src: dict, rules: list[dict]) -> dict | None:
    """The first rule that applies to `src`. `source` (its exact name) and `path` (a glob) are the
    publisher's declarations, in their own rules file; `sample` (the shipped rules) names a file
    of sample_data/ and applies only to a source whose files are that file, by content: a source
    merely called `squad_hf`, or converted with a family whose `dataset` is squad, is not SQuAD."""
    path = str(src.get("path") or "")
    for r in rules:
        if "source" in r and r["source"] == src.get("name"):
            return r
        if "sample" in r:
            if _is_sample(src, r):
                return r
            continue
        pat = r.get("path")
        if pat and (fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(Path(path).name, pat)):
            return r
    return None


SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def _as_list(v) -> list[str]:
    return [str(x) for x in (v if isinstance(v, list) else [v] if v else [])]


def _is_sample(src: dict, rule: dict) -> bool:
    """`src` read exactly the sample file(s) of `rule`: every file the manifest recorded for it
    has the content digest (XXH3-128) of one of them; with no digests recorded (an older
    manifest), its path resolves to one of them."""
    names = _as_list(rule.get("sample"))
    digests = set(_as_list(rule.get("xxh3_128"))) or {d for n in names if (d := _sample_digest(n))}
    files = [f for f in src.get("files") or [] if isinstance(f, dict)]
    if files:
        return all(f.get("xxh3_128") in digests for f in files)
    path = src.get("path")
    if not isinstance(path, str) or not path or path == "<in-memory>" or any(c in path for c in "*?["):
        return False
    try:
        resolved = Path(path).resolve()
    except OSError:
        return False
    return any(resolved == (SAMPLE_DATA / n).resolve() for n in names)


_SAMPLE_DIGESTS: dict[str, str | None] = {}


def _sample_digest(name: str) -> str | None:
    if name not in _SAMPLE_DIGESTS:
        from dataforge.io.read import file_digests

        p = SAMPLE_DATA / name
        try:
            files = file_digests(str(p), "jsonl") if p.is_file() else []
        except (OSError, InputError):
            files = []
        _SAMPLE_DIGESTS[name] = files[0]["xxh3_128"] if files else None
    return _SAMPLE_DIGESTS[name]


# -- card ---------------------------------------------------------------------------

@dataclass
class Card:
    text: str
    header: dict
    warnings: list[str]
    files: dict[str, str] = field(default_factory=dict)  # more repo files the card links (LICENSE.md)


def build_card(out: str | Path, repo_id: str, *, license: str | None = None,
               licenses_file: str | Path | None = None) -> Card:
    from dataforge.report.collect import collect

    out = Path(out)
    run = collect(out)  # the same numbers the report shows
    m = json.loads((out / "manifest.json").read_text())
    lic = derive_licenses(m, merged_license_rules(licenses_file), license)
    rules = yaml.safe_load((CARD_TEMPLATES / "card.yaml").read_text())
    s = run.summary
    n = s["run"]["totals"].get("rows_out", 0)
    tasks = s["coverage"].get("task", {})
    cats = sorted({rules["task_categories"].get(t, rules["default_task_category"]) for t in tasks}
                  | {rules["default_task_category"]})
    header: dict = {
        "license": list(lic.hub),  # Hub licence ids, always a list
        "language": sorted(s["coverage"].get("lang", {})) or ["en"],
        "task_categories": cats,
        "size_categories": [next((c for lim, c in SIZE_CATEGORIES if n < lim), "n>1B")],
        "pretty_name": m.get("name") or repo_id.split("/")[-1],
        "tags": list(rules.get("tags", [])),
        "configs": configs(m),
    }
    if lic.other_ids:  # the Hub asks for an id and a link when the licence is `other`
        header["license_name"] = lic.other_ids[0] if len(lic.other_ids) == 1 else "-".join(lic.other_ids)
    link = license_link(lic, license)
    if link:
        header["license_link"] = link
    all_scores = {k: v for k, v in s["scores"].items() if k != "note" and isinstance(v, dict)}
    scores = {k: v["stats"] | {"missing": v.get("missing") or 0} for k, v in all_scores.items()
              if v.get("stats", {}).get("n")}
    metrics = s["metrics"].get("scalars", {})
    from dataforge.report.collect import stale_metrics

    metric_notes = stale_metrics(m)
    rj = json.loads((out / "recipe.json").read_text()) if (out / "recipe.json").is_file() else {}
    recipe = rj.get("text", "").rstrip() or None
    null_scores = [{"name": k, "reason": _null_score_reason(k, rules, recipe), "rows": v.get("missing") or n}
                   for k, v in all_scores.items() if not v.get("stats", {}).get("n")]
    schema_scores = [c["name"] for c in m.get("schema", []) if str(c.get("name", "")).startswith("score_")]
    score_columns = schema_scores or list(all_scores)
    rfiles = recipe_files(out)
    warnings = lic.warnings + _exemplar_warnings(m)
    templates = template_usage(out, {f.family: f for f in rfiles if f.family})
    body = _env().get_template("card.md.j2").render(
        pretty_name=header["pretty_name"], repo_id=repo_id, n_rows=n, splits=m.get("splits", {}),
        sources=lic.sources, hub_licenses=lic.hub, license_override=license, warnings=warnings,
        other_names=lic.other_names, license_links=lic.links,
        stages=s["funnel"], scores=scores, metrics=metrics, metric_notes=metric_notes, recipe=recipe,
        score_columns=score_columns, null_scores=null_scores, templates=templates,
        recipe_files=rfiles, absolute_source_paths=_absolute_source_paths(recipe),
        unknown_sources=[x["name"] for x in lic.sources if not x["licenses"]],
        extra_configs=[c["config_name"] for c in header["configs"][1:]],
        versions=m.get("created_by", {}), seed=m.get("seed"), llm=m.get("llm") or rj.get("llm"),
        models=m.get("models", []), generation=generation_settings(out),
        filters=[st for st in m.get("stages", []) if st.get("rows_rejected")],
    )
    text = "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n" + body
    files = {LICENSE_FILE: license_file(lic)} if link == LICENSE_FILE else {}
    return Card(text, header, warnings, files)


def _exemplar_warnings(m: dict) -> list[str]:
    """A warning when few-shot prompts show rows of an evaluation split (with their answers)
    inside rows of another split (`output.exemplar_split: hash`)."""
    ex = m.get("exemplar_splits") or {}
    if not ex.get("cross_split_uses"):
        return []
    return [f"{ex['cross_split_uses']} few-shot exemplar use(s) show a row that is not in the "
            f"'{ex['training_split']}' split, with its answer, inside a row of another split "
            f"(`output.exemplar_split: {ex['policy']}`): those evaluation rows are not held out. "
            "`exemplar_split: train` (the default) makes every row shown as an exemplar a training row."]


def _null_score_reason(name: str, rules: dict, recipe: str | None) -> str:
    """Why a score column is null on every row: its operator's rule (card.yaml), with the
    recipe's settings of that step when it has any."""
    reason = (rules.get("null_scores") or {}).get(name) or rules.get("null_score_default") or ""
    params = _step_params(recipe, name)
    if params:
        reason += " (this run: " + ", ".join(f"`{k}: {v}`" for k, v in params.items()) + ")"
    return reason


def _step_params(recipe: str | None, operator: str) -> dict:
    """The parameters the recipe gives the first pipeline step running `operator`."""
    try:
        doc = yaml.safe_load(recipe or "") or {}
    except yaml.YAMLError:
        return {}
    for st in (doc.get("pipeline") or []) if isinstance(doc, dict) else []:
        if not isinstance(st, dict):
            continue
        if st.get("op") == operator:
            return {k: v for k, v in st.items() if k not in ("op", "name")}
        if len(st) == 1 and operator in st:
            return dict(st[operator] or {}) if isinstance(st[operator], dict) else {}
    return {}


def license_link(lic: Licensing, override: str | None = None) -> str | None:
    """One licence: its terms URL. Several: LICENSE.md, written next to the card, lists each
    source with its licences and links (the Hub takes a file in the repo or a URL)."""
    if override:
        return None
    links = [u for u in lic.links.values() if u]
    if len(lic.links) == 1:
        return links[0] if links else None
    return LICENSE_FILE if lic.links else None


LICENSE_FILE = "LICENSE.md"


def license_file(lic: Licensing) -> str:
    """LICENSE.md: every source, its licences (with links) and notice."""
    lines = ["# Licences of this dataset's sources", "",
             "This dataset combines the sources below; each row's `source` column says which one it "
             "came from, and the terms of that source apply to it.", ""]
    for w in lic.warnings:
        lines += [f"> **Warning:** {w}", ""]
    for s in lic.sources:
        lines.append(f"## {s['name']}")
        if s.get("url"):
            lines.append(f"Upstream: <{s['url']}>")
        for x in s["licenses"]:
            lines.append(f"- {x['id']} (Hub: `{x['hub']}`)" + (f": <{x['url']}>" if x.get("url") else ""))
        if not s["licenses"]:
            lines.append("- licence unknown")
        if s.get("notes"):
            lines.append("")
            lines.append(str(s["notes"]).strip())
        lines.append("")
    return "\n".join(lines)


def generation_settings(out: Path) -> list[dict]:
    """Who wrote rows (generator, augmenter or `respond`), with which model and sampling, and how
    many kept rows each wrote: read from the rows' `meta`, so the card says what actually
    happened. A row rewritten after it was generated counts for both steps: the later step's
    settings are at the top of its meta, the earlier step's under `earlier`."""
    from collections import Counter

    import polars as pl

    files = sorted((out / "data").glob("*.parquet"))
    if not files:
        return []
    meta = pl.col("meta").fill_null("{}")
    made = meta.str.contains('"generator"|"augmenter"|"respond"')
    metas = pl.scan_parquet(files).filter(made).select(meta).collect()["meta"]
    counts: Counter = Counter()
    for text, n in metas.value_counts().iter_rows():
        try:
            doc = json.loads(text)
        except ValueError:  # (meta that is no JSON names no step)
            continue
        for step in _steps(doc):
            counts[step] += n
    rows = [{"by": by, "model": model, "revision": rev, "sampling": sampling, "rows": n}
            for (by, model, rev, sampling), n in counts.items()]
    return sorted(rows, key=lambda r: (r["by"], -r["rows"], str(r["model"]), str(r["sampling"])))


PROMPT_TYPE_WORDS = {"zero_shot": "zero-shot", "few_shot": "few-shot", "cot": "chain-of-thought (CoT)",
                     "inversion": "inversion (the input written from the answer)"}


def template_usage(out: Path, family_files: dict[str, RecipeFile] | None = None) -> dict | None:
    """How `convert` made rows from templates, read from the kept rows' `meta` (family, template,
    prompt_type, options, format): families with their sources, rows and templates, the
    prompt-type mix, options shown/hidden and output-format instructions. None when no kept row
    came from a template (a run without `convert`). `family_files`: family name -> the family
    file the recipe names (custom families; see recipe_files)."""
    import polars as pl

    files = sorted((out / "data").glob("*.parquet"))
    if not files:
        return None
    meta = pl.col("meta").fill_null("{}")
    keys = ("family", "template", "prompt_type", "options", "format")
    lf = pl.scan_parquet(files)
    cols = lf.collect_schema().names()
    if "meta" not in cols:
        return None
    src = pl.col("source") if "source" in cols else pl.lit(None, dtype=pl.Utf8)
    df = (lf.filter(meta.str.contains('"template"'))
          .select(src.alias("source"), *[meta.str.json_path_match(f"$.{k}").alias(k) for k in keys],
                  meta.str.contains('"augmenter"|"respond"').alias("_later"))
          .filter(pl.col("family").is_not_null() & pl.col("template").is_not_null()).collect())
    if not df.height:
        return None
    total = pl.scan_parquet(files).select(pl.len()).collect().item()

    def counts(col: str) -> list[tuple[str, int]]:
        vc = df.filter(pl.col(col).is_not_null()).group_by(col).len().sort(["len", col], descending=[True, False])
        return [(str(k), int(n)) for k, n in vc.iter_rows()]

    families = []
    for (fam,), g in sorted(df.group_by(["family"]), key=lambda kv: (-kv[1].height, str(kv[0][0]))):
        tpl = g.group_by("template").len().sort(["len", "template"], descending=[True, False])
        families.append({
            "name": fam, "rows": g.height, "file": (family_files or {}).get(fam),
            "sources": sorted({s for s in g["source"].to_list() if s}),
            "templates": [(str(k).split("/", 1)[-1], int(n)) for k, n in tpl.iter_rows()],
        })
    prompt_types = [(PROMPT_TYPE_WORDS.get(k, k), n) for k, n in counts("prompt_type")]
    return {"rows": df.height, "total": total, "rewritten": int(df["_later"].sum()),
            "families": families, "prompt_types": prompt_types,
            "options": counts("options"), "formats": counts("format")}


def _steps(m: dict) -> list[tuple]:
    """(by, model, revision, sampling) of each step that wrote a row, the latest first: each
    level of `earlier` holds the whole record of the step before (schema.nest_step_provenance)."""
    out, level = [], m
    text = lambda v: v if v is None or isinstance(v, str) else json.dumps(v, separators=(",", ":"))  # noqa: E731
    while isinstance(level, dict):
        by = level.get("augmenter") or level.get("generator") or ("respond" if "respond" in level else None)
        if by is not None:
            out.append((by, text(level.get("model")), text(level.get("revision")), text(level.get("sampling"))))
        level = level.get("earlier")
    return out


def configs(m: dict) -> list[dict]:
    """`default` = data/, one more config per export format; a data_files entry per split present."""
    def files(prefix: str, shards: list[dict]) -> list[dict]:
        splits = [sp for sp in m.get("splits", {}) if any(x["split"] == sp for x in shards)]
        return [{"split": sp, "path": f"{prefix}/{sp}-*"} for sp in splits]

    out = [{"config_name": "default", "data_files": files("data", m["shards"]), "default": True}]
    for fmt, shards in (m.get("exports") or {}).items():
        if shards:
            out.append({"config_name": fmt, "data_files": files(fmt, shards)})
    return out


def _env():
    from dataforge import rulefiles

    # not strict: our own card template over our own manifest, whose model entries carry
    # optional fields (package, licence, revision) only when known
    return rulefiles.jinja_env(templates=CARD_TEMPLATES, keep_trailing_newline=True, strict=False)


# -- files the recipe names ------------------------------------------------------------

RECIPE_FILES_DIR = "recipe_files"
RULE_FILE_SUFFIXES = (".yaml", ".yml", ".jinja", ".j2", ".txt", ".json")
MAX_RECIPE_FILE_BYTES = 1 << 20
# what a credential looks like: Hub, OpenAI, GitHub and AWS keys, private keys, `token: ...`
SECRET_RE = re.compile(
    r"\bhf_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bAKIA[0-9A-Z]{16}\b"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
    r"|(?i:\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|authorization)\b\s*[:=])")


@dataclass
class RecipeFile:
    """A rules file a step of the recipe names (a custom template family, ...), and whether the
    upload carries it: `repo_path` when it does, else `reason`."""
    named: str  # as the recipe writes it
    local: Path | None = None
    repo_path: str | None = None
    reason: str | None = None
    family: str | None = None  # the family a template family file declares


def recipe_files(out: str | Path) -> list[RecipeFile]:
    """The text files the recipe's steps name by path (`convert: {family: my_family.yaml}` and
    other rules files; not the sources' data files, not model folders). Each is uploaded under
    recipe_files/ so the recipe can be rerun, unless it cannot be found from here, is not UTF-8
    text, is larger than 1 MiB, or looks as if it may hold a credential (a token, an API key,
    a password): such a file is named in the card as not included, never uploaded."""
    out = Path(out)
    try:
        rj = json.loads((out / "recipe.json").read_text(encoding="utf-8"))
        doc = yaml.safe_load(rj.get("text") or "") or {}
    except (OSError, ValueError, yaml.YAMLError):
        return []
    if not isinstance(doc, dict):
        return []
    steps = [st for s in doc.get("sources") or [] if isinstance(s, dict) for st in s.get("ops") or []]
    steps += list(doc.get("pipeline") or [])
    named: list[str] = []

    def walk(v) -> None:
        if isinstance(v, str):
            if v.lower().endswith(RULE_FILE_SUFFIXES) and "\n" not in v and v not in named:
                named.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(steps)
    token = os.environ.get("HF_TOKEN") or ""
    taken: set[str] = set()
    found = []
    for name in named:
        f = RecipeFile(name)
        local = Path(name).expanduser()
        if not local.is_file():
            f.reason = "not found from the folder `dataforge publish` ran in"
            found.append(f)
            continue
        f.local = local.resolve()
        try:
            raw = f.local.read_bytes()
            text = raw.decode("utf-8")
        except OSError as e:
            f.reason = f"cannot be read ({e.strerror})"
        except UnicodeDecodeError:
            f.reason = "not UTF-8 text"
        else:
            if len(raw) > MAX_RECIPE_FILE_BYTES:
                f.reason = "larger than 1 MiB"
            elif f.local.name.startswith(".") or SECRET_RE.search(text) or (token and token in text):
                f.reason = "it may hold a credential (a token, key or password); check it and share it yourself"
            if f.local.suffix in (".yaml", ".yml"):
                try:
                    d = yaml.safe_load(text)
                except yaml.YAMLError:
                    d = None
                if isinstance(d, dict) and "templates" in d:
                    f.family = str(d.get("family") or f.local.stem)
        if f.reason is None:
            stem, suffix, i = f.local.stem, f.local.suffix, 1
            rel = f"{RECIPE_FILES_DIR}/{stem}{suffix}"
            while rel in taken:
                i += 1
                rel = f"{RECIPE_FILES_DIR}/{stem}-{i}{suffix}"
            taken.add(rel)
            f.repo_path = rel
        found.append(f)
    return found


def _absolute_source_paths(recipe_text: str | None) -> list[str]:
    try:
        doc = yaml.safe_load(recipe_text or "") or {}
    except yaml.YAMLError:
        return []
    srcs = doc.get("sources") if isinstance(doc, dict) else None
    paths = [str(s["path"]) for s in srcs or [] if isinstance(s, dict) and isinstance(s.get("path"), str)
             and (Path(s["path"]).is_absolute() or s["path"].startswith("~"))]
    return list(dict.fromkeys(paths))


# -- plan and upload ----------------------------------------------------------------

@dataclass
class PlannedFile:
    local: Path
    repo_path: str
    role: str
    bytes: int = 0
    sha256: str | None = None


def plan(out: str | Path, *, include_rejects: bool = False) -> list[PlannedFile]:
    """Exactly the files an upload sends: card, shards, exports, recipe, manifest, report, and
    the rules files the recipe names (custom template families) under recipe_files/."""
    out = Path(out)
    m = json.loads((out / "manifest.json").read_text())
    items = [PlannedFile(out / "README.md", "README.md", "card")]
    if (out / LICENSE_FILE).is_file():
        items.append(PlannedFile(out / LICENSE_FILE, LICENSE_FILE, "licence"))
    items += [PlannedFile(out / "data" / s["path"], f"data/{s['path']}", "data", s["bytes"], s["sha256"])
              for s in m["shards"]]
    for fmt, shards in (m.get("exports") or {}).items():
        items += [PlannedFile(out / fmt / s["path"], f"{fmt}/{s['path']}", f"export:{fmt}", s["bytes"], s["sha256"])
                  for s in shards]
    if include_rejects:
        items += [PlannedFile(out / r["path"], r["path"], "rejects") for r in m.get("rejects", [])]
    for rel, role in (("recipe.json", "recipe"), ("manifest.json", "manifest"), ("report.json", "report"),
                      ("report/index.html", "report")):
        items.append(PlannedFile(out / rel, rel, role))
    items += [PlannedFile(f.local, f.repo_path, "recipe file") for f in recipe_files(out) if f.repo_path]
    missing = [str(p.local) for p in items if not p.local.is_file() and p.role not in ("card", "recipe")]
    if missing:
        raise InputError(f"{out}: files named by the manifest are missing: {missing[:5]}; rerun `dataforge run`")
    items = [p for p in items if p.local.is_file() or p.role == "card"]
    for p in items:
        if p.local.is_file() and not p.bytes:
            p.bytes = p.local.stat().st_size
    return items


def managed_prefixes(files: list[PlannedFile]) -> tuple[str, ...]:
    """Remote folders this upload owns: stale files there (older shard layouts) are deleted."""
    return tuple(sorted({f.repo_path.split("/", 1)[0] + "/" for f in files if "/" in f.repo_path}))


def resolve_token() -> str:
    token = os.environ.get("HF_TOKEN")
    if not token:
        from huggingface_hub import get_token

        token = get_token()
    if not token:
        raise MissingResourceError("no Hugging Face token: set HF_TOKEN or run `hf auth login` "
                                   "(or use --dry-run to see the plan)")
    return token


def upload(files: list[PlannedFile], repo_id: str, *, token: str, private: bool = False,
           message: str = "Upload dataset with dataforge", endpoint: str | None = None) -> str:
    """Create the dataset repo if needed and push every planned file in one commit; returns its URL.
    `endpoint`: another Hub (self-hosted, or a test's local one); default HF_ENDPOINT or huggingface.co."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    api = HfApi(token=token, endpoint=endpoint)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    wanted = {f.repo_path for f in files}
    owned = managed_prefixes(files)
    remote = api.list_repo_files(repo_id, repo_type="dataset")
    ops: list = [CommitOperationAdd(path_in_repo=f.repo_path, path_or_fileobj=str(f.local)) for f in files]
    ops += [CommitOperationDelete(path_in_repo=r) for r in remote if r.startswith(owned) and r not in wanted]
    info = api.create_commit(repo_id, repo_type="dataset", operations=ops, commit_message=message)
    return str(getattr(info, "commit_url", info))


def stage(files: list[PlannedFile], dest: str | Path) -> Path:
    """Copy the planned files into `dest` with their repo layout (what the Hub repo will hold)."""
    import shutil

    dest = Path(dest)
    for f in files:
        target = dest / f.repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f.local, target)
    return dest
