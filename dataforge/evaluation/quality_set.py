"""The labelled quality evaluation set: clean rows of many task kinds from sample_data/, plus
planted defects, each row labelled "clean" or with its defect kind.

Built only from sample_data/ (see docs/quality.md). Clean rows:
- Alpaca and Self-Instruct seed rows whose task kind was assigned by hand
  (benchmarks/quality_data/kinds.tsv, never by dataforge's task classifier);
- converted rows made by the real `convert` operator: rt-polarity (sentiment, bare labels,
  some few-shot), AG News (topic), e-SNLI (NLI, three hypotheses per premise; zero-shot,
  few-shot and chain of thought), SQuAD (extractive QA, several questions per passage) and
  SciTLDR (summaries).
Defects are planted on copies of clean rows (the clean row stays in the set): responses
shuffled between rows (also among short answers), truncated, refusals and AI disclaimers,
garbled (same words, shuffled), vague instructions, wrong labels, near-duplicate copies and
answers in the wrong language. Defect texts live in benchmarks/quality_data/defects.yaml,
split into a `dev` and a `heldout` half; every row has a `split` (by its group) and takes
defect texts from its own half, so each figure can be reported on both halves.

Extra columns: `label` ("clean" or the defect kind), `kind` (task kind for breakdowns),
`group` (id of the original row for near-duplicates; first row of the same passage/premise
for converted QA and NLI rows; the row's own id otherwise), `split` (dev / heldout).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl

from dataforge.io.read import iter_batches
from dataforge.ops.convert import Convert
from dataforge.rulefiles import parse_yaml
from dataforge.schema import COLUMNS, REJECT, conform, content_id

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "quality_data"
LABELS = ("clean", "shuffled", "shuffled_short", "truncated", "refusal", "disclaimer", "garbled",
          "vague", "wrong_label", "near_duplicate", "wrong_language", "non_answer")
EXTRA = ("label", "kind", "group", "split")
# How many planted rows of each defect (before pools run short)
SIZES = {"shuffled": 160, "shuffled_short": 120, "truncated": 160, "refusal": 140, "disclaimer": 100,
         "garbled": 160, "vague": 160, "wrong_label": 120, "near_duplicate": 160, "wrong_language": 12,
         "non_answer": 100}
# instruction words that point at an input the row carries: dropping the input makes it vague
REFERS = re.compile(r"(?i)\b(given|following|below|above|this|these|provided|the (text|sentence|passage|"
                    r"paragraph|article|story|email|list|data|code|question|statement|review))\b")
LABEL_TASKS = ("sentiment", "topic", "nli", "classification")


def _raw(sample_dir: Path, name: str) -> pl.DataFrame:
    return next(iter_batches(str(sample_dir / f"{name}.jsonl"), batch_size=1_000_000)).rows


def kinds() -> dict[str, str]:
    """benchmarks/quality_data/kinds.tsv: the key of each row the set imports ("alpaca:17",
    "seed_tasks:seed_task_3") -> its task kind. Readers that must keep those rows held out
    (static_train's corpus, task_eval) read it here."""
    out = {}
    for line in (DATA / "kinds.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip() or line.startswith("key\t"):
            continue
        key, kind = line.split("\t")
        out[key] = kind
    return out


def defect_texts() -> dict:
    return parse_yaml((DATA / "defects.yaml").read_text(encoding="utf-8"), str(DATA / "defects.yaml"))


def _canon(df: pl.DataFrame, source: str) -> pl.DataFrame:
    df = conform(df, source=source)
    return df.select(list(COLUMNS))


def _imported(sample_dir: Path, kinds: dict[str, str]) -> pl.DataFrame:
    alp = _raw(sample_dir, "alpaca").with_row_index("line")
    alp = alp.with_columns(pl.format("alpaca:{}", pl.col("line")).alias("key"))
    seed = _raw(sample_dir, "seed_tasks")
    seed = seed.with_columns(pl.format("seed_tasks:{}", pl.col("id")).alias("key"),
                             pl.col("instances").list.first().struct.field("input").alias("input"),
                             pl.col("instances").list.first().struct.field("output").alias("output"))
    frames = []
    for df, src in ((alp, "alpaca"), (seed, "seed_tasks")):
        df = df.filter(pl.col("key").is_in(list(kinds)))
        kind = df["key"].replace_strict(kinds, return_dtype=pl.Utf8)
        rows = df.select("instruction", "input", "output").with_columns(
            kind.alias("task"), pl.lit(src).alias("source"),
            pl.format('{{"import_key":"{}"}}', df["key"]).alias("meta"))
        frames.append(_canon(rows, src).with_columns(kind.alias("kind")))
    return pl.concat(frames)


# The slices of sample_data/ the set converts: (file, first row, rows, convert parameters).
CONVERTED = (
    ("rt_polarity", 0, 160, {"family": "sentiment"}),
    ("rt_polarity", 160, 60, {"family": "sentiment", "prompt_types": "few_shot"}),
    ("ag_news", 0, 160, {"family": "topic"}),
    ("esnli", 0, 180, {"family": "nli"}),  # 60 premises x 3 hypotheses
    ("esnli", 180, 150, {"family": "nli", "prompt_types": "cot"}),
    ("esnli", 330, 60, {"family": "nli", "prompt_types": "few_shot"}),
    ("squad", 0, 260, {"family": "extractive_qa"}),
    ("scitldr", 0, 140, {"family": "summarization"}),
)


def converted_rows() -> dict[str, int]:
    """file -> how many of its first rows the set converts (what must stay out of any training)."""
    out: dict[str, int] = {}
    for name, lo, n, _ in CONVERTED:
        out[name] = max(out.get(name, 0), lo + n)
    return out


def _converted(sample_dir: Path, seed: int) -> pl.DataFrame:
    def conv(name: str, lo: int, n: int, params: dict) -> pl.DataFrame:
        raw = conform(_raw(sample_dir, name).slice(lo, n), source=name)
        out = Convert(seed=seed, **params).map(raw)
        out = out.filter(pl.col(REJECT).is_null()) if REJECT in out.columns else out
        # kind: the task the family stands for (TAXONOMY), whatever `task` convert wrote
        return out.select(list(COLUMNS)).with_columns(pl.lit(params["family"]).alias("kind"))

    return pl.concat([conv(*c) for c in CONVERTED])


def _half(keys: pl.Series, seed: int) -> pl.Series:
    return pl.Series([("dev" if hashlib.blake2b(f"{seed}:{k}".encode(), digest_size=4).digest()[0] % 2 == 0
                       else "heldout") for k in keys.to_list()], dtype=pl.Utf8)


def _legacy_ids(df: pl.DataFrame) -> pl.Series:
    """The ids dataforge <= 0.1 gave imported rows (blake2b of instruction, input, output):
    they keep the half they had when the rules were written against the dev half only."""
    cols = [pl.col(f).cast(pl.Utf8).fill_null("\x00") for f in ("instruction", "input", "output")]
    keys = df.select(pl.concat_str(cols, separator="\x1f")).to_series().to_list()
    return pl.Series([hashlib.blake2b(k.encode(), digest_size=10).hexdigest() for k in keys], dtype=pl.Utf8)


def _base(sample_dir: Path, seed: int) -> pl.DataFrame:
    imp = _imported(sample_dir, kinds())
    conv = _converted(sample_dir, seed)
    # group converted QA/NLI rows by their raw passage / premise
    raw_sq = conform(_raw(sample_dir, "squad"), source="squad").select(
        pl.col("id").alias("_src"), pl.col("context").alias("_passage"))
    raw_nli = conform(_raw(sample_dir, "esnli"), source="esnli").select(
        pl.col("id").alias("_src"), pl.col("Sentence1").alias("_passage"))
    conv = conv.with_columns(pl.col("meta").str.json_path_match("$.source_row").alias("_src"))
    conv = conv.join(pl.concat([raw_sq, raw_nli]).unique("_src"), on="_src", how="left")
    # a converted row's half follows its passage / premise, else its source row: never the
    # template it drew, so the halves stay put when templates or draws change
    conv = conv.with_columns(pl.coalesce("_passage", "_src", "id").alias("group")).drop("_src", "_passage")
    imp = imp.with_columns(_legacy_ids(imp).alias("group"))
    base = pl.concat([imp, conv]).unique("id", keep="first", maintain_order=True)
    return base.with_columns(pl.lit("clean").alias("label"), _half(base["group"], seed).alias("split"))


# -- defects ------------------------------------------------------------------------------

def _words(t: str) -> int:
    return len(t.split())


def _row(r: dict, label: str, **changes) -> dict:
    out = dict(r)
    out.update(changes)
    meta = json.loads(out.get("meta") or "{}")
    meta["planted"] = label
    out["meta"] = json.dumps(meta, ensure_ascii=False)
    out["label"] = label
    return out


def _pick(rng: np.random.Generator, rows: list[dict], n: int) -> list[dict]:
    if not rows:
        return []
    idx = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
    return [rows[i] for i in sorted(idx)]


def _norm(t: str) -> str:
    return re.sub(r"\W+", " ", t.lower()).strip()


def plant_shuffled(rng, rows, n, short: bool) -> list[dict]:
    if short:
        pool = [r for r in rows if _words(r["output"]) <= 4 and r["output"].strip()]
    else:
        pool = [r for r in rows if r["output"].strip()]
    out = []
    for r in _pick(rng, pool, n):
        for _ in range(50):
            d = pool[int(rng.integers(len(pool)))]
            # another kind and source, and a different answer: a real mismatch, not a same label
            if d["kind"] != r["kind"] and d["source"] != r["source"] and _norm(d["output"]) != _norm(r["output"]):
                out.append(_row(r, "shuffled_short" if short else "shuffled", output=d["output"]))
                break
    return out


def plant_truncated(rng, rows, n) -> list[dict]:
    # generation that hit its token limit: cut inside a prose line, not after an ending mark.
    # Code and tables are left out (their own rules: unclosed fences / brackets).
    pool = [r for r in rows if _words(r["output"]) >= 25 and r["kind"] not in ("code", "other")]
    out = []
    for r in _pick(rng, pool, n):
        toks = list(re.finditer(r"\S+", r["output"]))
        text = r["output"]
        cands = [i for i in range(int(len(toks) * 0.4), int(len(toks) * 0.9))
                 if not re.search(r"[.!?:;\"')\]]$", toks[i].group()) and "\n" not in text[toks[i].end():toks[i].end() + 1]
                 and i + 1 < len(toks)]
        if not cands:
            continue
        i = cands[int(rng.integers(len(cands)))]
        out.append(_row(r, "truncated", output=text[:toks[i].end()]))
    return out


def plant_refusal(rng, rows, n, texts) -> list[dict]:
    out = []
    for r in _pick(rng, rows, n):
        half = texts["refusal"][r["split"]]
        out.append(_row(r, "refusal", output=half[int(rng.integers(len(half)))]))
    return out


def plant_disclaimer(rng, rows, n, texts) -> list[dict]:
    pool = [r for r in rows if _words(r["output"]) >= 3]
    out = []
    for r in _pick(rng, pool, n):
        half = texts["disclaimer"][r["split"]]
        out.append(_row(r, "disclaimer", output=half[int(rng.integers(len(half)))].replace("{answer}", r["output"])))
    return out


def plant_garbled(rng, rows, n) -> list[dict]:
    """Same words, shuffled; the layout (words per line) is kept so only word order tells."""
    # prose only: shuffled code or table cells are not what this defect is about
    pool = [r for r in rows if _words(r["output"]) >= 8 and r["kind"] not in ("code", "other")]
    out = []
    for r in _pick(rng, pool, n):
        lines = r["output"].split("\n")
        words = [w for ln in lines for w in ln.split()]
        perm = [words[i] for i in rng.permutation(len(words))]
        it, new = iter(perm), []
        for ln in lines:
            new.append(" ".join(next(it) for _ in ln.split()))
        out.append(_row(r, "garbled", output="\n".join(new)))
    return out


def plant_vague(rng, rows, n, texts) -> list[dict]:
    # (a) input dropped from an instruction that refers to it; (b) deictic / undefined-criteria
    # instructions of ordinary length with no input (texts from defects.yaml)
    dropped = [r for r in rows if r["input"].strip() and REFERS.search(r["instruction"])
               and _words(r["instruction"]) <= 40]
    out = [_row(r, "vague", input="") for r in _pick(rng, dropped, n // 2)]
    for r in _pick(rng, rows, n - len(out)):
        half = texts["vague"][r["split"]]
        out.append(_row(r, "vague", instruction=half[int(rng.integers(len(half)))], input=""))
    return out


def plant_wrong_label(rng, rows, n) -> list[dict]:
    """Another label of the same template: the answer set is right, the answer wrong."""
    by_tpl: dict[tuple, set] = {}

    def key(r):
        m = json.loads(r["meta"] or "{}")
        return m.get("template"), m.get("prompt_type"), m.get("format")

    cot = re.compile(r"(So the answer is: )(.+)$", re.S)
    label_of = lambda r: (cot.search(r["output"]).group(2) if cot.search(r["output"]) else r["output"])  # noqa: E731
    pool = [r for r in rows if r["kind"] in LABEL_TASKS and key(r)[0] and _words(label_of(r)) <= 6]
    for r in pool:
        by_tpl.setdefault(key(r), set()).add(label_of(r).strip())
    out = []
    for r in _pick(rng, pool, n):
        others = sorted(by_tpl.get(key(r), set()) - {label_of(r).strip()})
        if not others:
            continue
        new = others[int(rng.integers(len(others)))]
        m = cot.search(r["output"])
        output = r["output"][:m.start(2)] + new if m else new
        out.append(_row(r, "wrong_label", output=output))
    return out


def _edit(rng, text: str, edits: int) -> str:
    """A near-copy: case / spacing / punctuation noise plus `edits` dropped or doubled words."""
    toks = text.split(" ")
    for _ in range(edits):
        i = int(rng.integers(len(toks)))
        if rng.random() < 0.5 and len(toks) > 1:
            del toks[i]
        else:
            toks.insert(i, toks[i])
    t = " ".join(toks)
    if rng.random() < 0.5:
        t = t.replace(", ", " , ", 1)
    if rng.random() < 0.5:
        t = t[:1].swapcase() + t[1:]
    return t + (" " if rng.random() < 0.5 else "")


def plant_near_duplicate(rng, rows, n) -> list[dict]:
    pool = [r for r in rows if _words(r["instruction"] + " " + r["input"] + " " + r["output"]) >= 50]
    out = []
    for r in _pick(rng, pool, n):
        total = _words(r["instruction"] + " " + r["input"] + " " + r["output"])
        field = max(("instruction", "input", "output"), key=lambda f: _words(r[f]))
        new = _edit(rng, r[field], 1 + total // 120)
        out.append(_row(r, "near_duplicate", **{field: new}, group=r["id"]))
    return out


def plant_wrong_language(rng, rows, n) -> list[dict]:
    """Non-English answers of the seed translation rows (the only ones in sample_data/) put on
    rows that did not ask for a translation."""
    foreign = [r["output"].split(" This is")[0] for r in rows if r["kind"] == "translation"]
    pool = [r for r in rows if r["kind"] in ("open_qa", "brainstorming", "creative_writing")]
    return [_row(r, "wrong_language", output=foreign[i % len(foreign)])
            for i, r in enumerate(_pick(rng, pool, n))] if foreign else []


def plant_non_answer(rng, rows, n, texts) -> list[dict]:
    """An acknowledgement or filler instead of the content a request asked for (open-ended
    kinds only: a bare "Yes." can be the right answer to a label task or a yes/no question)."""
    pool = [r for r in rows if r["kind"] not in LABEL_TASKS + ("extractive_qa", "math", "translation", "other")
            and _words(r["output"]) >= 20]
    out = []
    for r in _pick(rng, pool, n):
        half = texts["non_answer"][r["split"]]
        out.append(_row(r, "non_answer", output=half[int(rng.integers(len(half)))]))
    return out


def build_quality_set(sample_dir: Path = Path("sample_data"), seed: int = 0) -> pl.DataFrame:
    """The labelled set (canonical columns + label, kind, group, split); deterministic per seed."""
    sample_dir = Path(sample_dir)
    if not sample_dir.is_absolute() and not sample_dir.exists():
        sample_dir = ROOT / sample_dir
    base = _base(sample_dir, seed)
    rows = base.to_dicts()
    texts = defect_texts()
    rng = np.random.default_rng(seed)
    planted: list[dict] = []
    planted += plant_shuffled(rng, rows, SIZES["shuffled"], short=False)
    planted += plant_shuffled(rng, rows, SIZES["shuffled_short"], short=True)
    planted += plant_truncated(rng, rows, SIZES["truncated"])
    planted += plant_refusal(rng, rows, SIZES["refusal"], texts)
    planted += plant_disclaimer(rng, rows, SIZES["disclaimer"], texts)
    planted += plant_garbled(rng, rows, SIZES["garbled"])
    planted += plant_vague(rng, rows, SIZES["vague"], texts)
    planted += plant_wrong_label(rng, rows, SIZES["wrong_label"])
    planted += plant_near_duplicate(rng, rows, SIZES["near_duplicate"])
    planted += plant_wrong_language(rng, rows, SIZES["wrong_language"])
    planted += plant_non_answer(rng, rows, SIZES["non_answer"], texts)  # last: earlier draws stay as they were
    defects = pl.DataFrame(planted, schema=base.schema)
    defects = defects.with_columns(content_id(defects).alias("id"))
    # non-near-duplicate defects are their own group
    defects = defects.with_columns(pl.when(pl.col("label") == "near_duplicate").then(pl.col("group"))
                                   .otherwise(pl.col("id")).alias("group"))
    out = pl.concat([base, defects]).unique("id", keep="first", maintain_order=True)
    return out.select(list(COLUMNS) + list(EXTRA))


def summary(df: pl.DataFrame) -> pl.DataFrame:
    return df.group_by("label", "split").len().sort("label", "split")
