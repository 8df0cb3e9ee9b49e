"""Publishing: licence derivation, the dataset card, the dry-run plan, loading the planned folder
with `datasets` offline, and the upload against HfApi with only its network calls stood in."""
from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest
import yaml

from dataforge import recipe
from dataforge.cli import main
from dataforge.errors import MissingResourceError
from dataforge.io import hub

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick(quickstart_run) -> Path:
    return quickstart_run.out


def _card(out: Path) -> tuple[dict, str]:
    text = (out / "README.md").read_text()
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    assert m, "card must start with a YAML header"
    return yaml.safe_load(m.group(1)), m.group(2)


def test_dry_run_prints_the_plan_and_a_valid_card(quick, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_never_shown_123")
    assert main(["publish", str(quick), "--repo-id", "x/y", "--dry-run"]) == 0
    cap = capsys.readouterr()
    files = hub.plan(quick)
    for f in files:  # every planned file is listed with its repo path
        assert f.repo_path in cap.out
    assert "dry run" in cap.out and "hf_never_shown_123" not in cap.out + cap.err
    assert "not licensed for commercial use" in cap.err  # the alpaca sample is CC BY-NC
    header, body = _card(quick)
    # quickstart sources: alpaca (CC BY-NC), rt_polarity (CC BY), esnli and squad (CC BY-SA),
    # scitldr (Apache-2.0), ag_news (research-only terms: "other"); e-SNLI's explanations are MIT
    assert "cc-by-nc-4.0" in header["license"] and "cc-by-sa-4.0" in header["license"]
    assert "cc-by-4.0" in header["license"] and "apache-2.0" in header["license"]
    assert "other" in header["license"] and "mit" in header["license"]
    assert header["language"] == ["en"] and header["size_categories"] == ["1K<n<10K"]
    assert "question-answering" in header["task_categories"]
    # configs match the files: every glob hits exactly that split's shards, and every shard is named
    planned = [f.repo_path for f in files]
    covered = set()
    for cfg in header["configs"]:
        prefix = "data" if cfg["config_name"] == "default" else cfg["config_name"]
        for df in cfg["data_files"]:
            hits = fnmatch.filter(planned, df["path"])
            assert hits and all(h.startswith(f"{prefix}/{df['split']}-") for h in hits)
            covered |= set(hits)
    assert {p for p in planned if p.endswith(".parquet")} == covered
    assert {c["config_name"] for c in header["configs"]} == {"default", "messages", "alpaca", "sharegpt", "text"}
    assert "load_dataset(\"x/y\")" in body and "nonempty_output" in body and "name: quickstart" in body


def test_planned_folder_loads_with_datasets_offline(quick, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["publish", str(quick), "--repo-id", "x/y", "--dry-run", "--stage", str(tmp_path / "repo")]) == 0
    import datasets
    import json

    manifest = json.loads((quick / "manifest.json").read_text())
    header, _ = _card(tmp_path / "repo")
    ds = datasets.load_dataset(str(tmp_path / "repo"), cache_dir=str(tmp_path / "cache"))
    assert {k: len(v) for k, v in ds.items()} == manifest["splits"]
    assert ds["train"].column_names[:4] == ["id", "instruction", "input", "output"]
    msgs = datasets.load_dataset(str(tmp_path / "repo"), "messages", cache_dir=str(tmp_path / "cache"))
    assert set(msgs) == {d["split"] for d in header["configs"][1]["data_files"]}
    assert msgs["train"][0]["messages"][-1]["role"] == "assistant"


def _manifest(*sources):
    return {"sources": [{"name": n, "path": p} for n, p in sources]}


SAMPLE = ROOT / "sample_data"


def test_license_derivation_and_conflicts():
    # the shipped rules know the sample files themselves (by content, else exact path), not names
    rules = hub.load_license_rules()
    same = hub.derive_licenses(_manifest(("a", str(SAMPLE / "seed_tasks.jsonl")), ("b", str(SAMPLE / "scitldr.jsonl"))), rules)
    assert same.hub == ["apache-2.0"] and same.warnings == []
    sa_nc = hub.derive_licenses(_manifest(("sq", str(SAMPLE / "squad.jsonl")), ("al", str(SAMPLE / "alpaca.jsonl"))), rules)
    assert any("licence conflict" in w for w in sa_nc.warnings)
    # the clash is named: share-alike with non-commercial, not with a permissive licence
    sa_nc_mit = hub.derive_licenses(_manifest(("sq", str(SAMPLE / "squad.jsonl")), ("al", str(SAMPLE / "alpaca.jsonl")),
                                              ("e", str(SAMPLE / "esnli.jsonl"))), rules)
    (conflict,) = [w for w in sa_nc_mit.warnings if "licence conflict" in w]
    assert "CC-BY-NC-4.0" in conflict.split("which")[1] and "MIT" not in conflict, conflict
    assert any("['al'] are not licensed for commercial" in w for w in sa_nc.warnings)
    ag = hub.derive_licenses(_manifest(("ag", str(SAMPLE / "ag_news.jsonl"))), rules)
    assert ag.hub == ["other"] and "non-commercial" in ag.other_names[0]
    unknown = hub.derive_licenses(_manifest(("mine", "/data/private.jsonl")), rules)
    assert unknown.hub == ["unknown"] and "mine" in unknown.warnings[0]
    forced = hub.derive_licenses(_manifest(("mine", "/data/private.jsonl")), rules, override="MIT")
    assert forced.hub == ["mit"]
    by_name = hub.derive_licenses(_manifest(("mine", "/p.jsonl")),
                                  {"licenses": {"MIT": {"hub": "mit"}}, "sources": [{"source": "mine", "license": "MIT"}]})
    assert by_name.hub == ["mit"]


class FakeHub:
    """Stands in for the Hub's HTTP endpoints only: records what HfApi would send."""

    def __init__(self, remote: list[str]):
        self.remote, self.calls = remote, []

    def install(self, monkeypatch):
        from huggingface_hub import HfApi

        fake = self

        def create_repo(self, repo_id, **kw):
            fake.calls.append(("create_repo", repo_id, kw, self.token))

        def list_repo_files(self, repo_id, **kw):
            return list(fake.remote)

        def create_commit(self, repo_id, operations, **kw):
            fake.calls.append(("create_commit", repo_id, operations, kw))
            return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/datasets/{repo_id}/commit/abc"})()

        for name, fn in (("create_repo", create_repo), ("list_repo_files", list_repo_files),
                         ("create_commit", create_commit)):
            monkeypatch.setattr(HfApi, name, fn)


def test_upload_sends_the_plan_in_one_commit_and_never_shows_the_token(quick, monkeypatch, capsys):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    fake = FakeHub(["data/train-00000-of-00004.parquet", "notes.txt", "README.md"])
    fake.install(monkeypatch)
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_xyz")
    assert main(["publish", str(quick), "--repo-id", "me/quick", "--private"]) == 0
    cap = capsys.readouterr()
    assert "hf_secret_token_xyz" not in cap.out + cap.err
    assert "commit/abc" in cap.out
    (_, repo, kw, token), (_, _, ops, ckw) = fake.calls
    assert repo == "me/quick" and kw["private"] is True and kw["repo_type"] == "dataset"
    assert token == "hf_secret_token_xyz"  # handed to huggingface_hub, nowhere else
    adds = {o.path_in_repo for o in ops if isinstance(o, CommitOperationAdd)}
    assert adds == {f.repo_path for f in hub.plan(quick)}
    # a stale shard of an older layout goes; files the plan does not own stay
    assert [o.path_in_repo for o in ops if isinstance(o, CommitOperationDelete)] == ["data/train-00000-of-00004.parquet"]
    assert ckw["repo_type"] == "dataset"
    for p in quick.rglob("*"):
        if p.is_file() and p.suffix in (".md", ".json", ".html"):
            assert "hf_secret_token_xyz" not in p.read_text(errors="ignore"), p


def test_missing_token_is_a_clear_error(monkeypatch, quick, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(MissingResourceError, match="HF_TOKEN"):
        hub.resolve_token()
    assert main(["publish", str(quick), "--repo-id", "bad"]) == 1
    assert "USER/NAME" in capsys.readouterr().err


from tests.support.fake_hub import HUB_LICENSES, validate_card_yaml  # noqa: E402


def _check_card_data(text: str) -> dict:
    """The card parses as huggingface_hub's DatasetCard; its metadata follows the Hub's rules."""
    from huggingface_hub import DatasetCard, DatasetCardData

    card = DatasetCard(text)
    assert isinstance(card.data, DatasetCardData)
    data = card.data.to_dict()
    DatasetCardData(**data)  # round-trips through the constructor
    assert isinstance(data["license"], list) and set(data["license"]) <= HUB_LICENSES
    if "other" in data["license"]:  # the Hub needs an id and a link for `other`
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", data["license_name"]) and data["license_link"]
    assert data["license_link"]
    assert validate_card_yaml(text) == []
    return data


def test_card_metadata_links_sources_citations_models_and_filters(quick, tmp_path):
    assert main(["publish", str(quick), "--repo-id", "x/y", "--dry-run"]) == 0
    text = (quick / "README.md").read_text()
    data = _check_card_data(text)
    # several licences: LICENSE.md lists each with its link, and is uploaded
    assert data["license_link"] == "LICENSE.md" and "LICENSE.md" in {f.repo_path for f in hub.plan(quick)}
    lic = (quick / "LICENSE.md").read_text()
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in lic and "https://opensource.org/license/mit" in lic
    # e-SNLI explanations are MIT: named next to the SNLI licence, with links and upstream URLs
    assert "[MIT](https://opensource.org/license/mit)" in text and "mit" in data["license"]
    assert "<https://github.com/OanaMariaCamburu/e-SNLI>" in text and "<https://github.com/tatsu-lab/stanford_alpaca>" in text
    assert "sample_data/" not in text.split("## How to reproduce")[0]  # upstream URLs, not local paths
    # provenance: the card says where to find it, and every published row has it, with no local folder
    assert "`meta.origin`" in text
    import polars as pl

    origins = pl.read_parquet(sorted((quick / "data").rglob("*.parquet"))[0])["meta"].str.json_path_match("$.origin.file")
    assert origins.null_count() == 0 and not origins.str.starts_with("/").any() and not origins.str.contains("sample_data").any()
    assert "@inproceedings{camburu2018esnli," in text and "@inproceedings{rajpurkar-etal-2016-squad," in text
    # models with revisions, the filters with their reject counts, how to reproduce
    m = json.loads((quick / "manifest.json").read_text())
    roles = {x["role"]: x for x in m["models"]}
    # the quickstart embeds with `embedding: static`: the card names that model, not MiniLM
    from dataforge import static_embed

    assert m["embedding"] == "static"
    assert [x["name"] for x in m["models"] if x["role"] == "embedding"] == [static_embed.NAME]
    assert roles["embedding"]["distilled_from"] == "all-MiniLM-L6-v2" and roles["embedding"]["revision"]
    assert roles["fasttext"]["name"] == "lid.176.ftz" and roles["fasttext"]["revision"].startswith("sha256:")
    assert roles["embedding"]["revision"] in text and roles["fasttext"]["revision"] in text
    for st in m["stages"]:
        if st["rows_rejected"]:
            assert f"- `{st['name']}`: {st['rows_rejected']} row(s) rejected" in text
    assert "## How to reproduce" in text and "dataforge run recipe.yaml -o out" in text and "name: quickstart" in text


@pytest.mark.slow
def test_card_names_the_llm_and_its_sampling(tmp_path, sample_dir):
    from dataforge.llm.revision import revision_of
    from dataforge.testing.tiny_models import shared_tiny_causal_lm

    tiny = shared_tiny_causal_lm()
    spec = f"hf:{tiny}"
    text = (f"name: answered\nseed: 3\nsources:\n  - {{name: alpaca, path: {sample_dir / 'alpaca.jsonl'}, limit: 4}}\n"
            "pipeline:\n  - respond: {overwrite: true, reject_truncated: false, sampling: {max_tokens: 8}}\n"
            "output: {report: true}\n")
    out = tmp_path / "out"
    recipe.loads(text, where="answered.yaml", base_dir=tmp_path).run(out=out, llm=spec)
    assert json.loads((out / "recipe.json").read_text())["llm"] == spec
    card = hub.build_card(out, "me/answered")
    data = _check_card_data(card.text)
    assert data["license"] == ["cc-by-nc-4.0"] and data["license_link"] == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert f"LLM (`--llm`): `{spec}`" in card.text and f"--llm '{spec}'" in card.text
    assert revision_of(str(tiny)) in card.text
    gen = hub.generation_settings(out)
    assert [(g["by"], g["rows"]) for g in gen] == [("respond", 4)]
    sampling = json.loads(gen[0]["sampling"])["respond"]
    assert sampling["max_tokens"] == 8 and sampling["seed"] == 3
    assert f"| respond | {spec} |" in card.text and '"max_tokens":8' in card.text


def test_publish_to_a_local_fake_hub_and_read_the_card_back(quick, monkeypatch, capsys, tmp_path):
    """A real HfApi upload (create_repo, list_repo_files, preupload, commit) against a local Hub
    endpoint, then the card downloaded with hf_hub_download and parsed as a DatasetCard."""
    import huggingface_hub
    from huggingface_hub import DatasetCard, hf_hub_download

    from tests.support.fake_hub import FakeHub as LocalHub

    token = "hf_local_fake_token_987"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # this one Hub is local
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_TOKEN", token)
    with LocalHub(token=token, lifetime=240) as fake:
        assert main(["publish", str(quick), "--repo-id", "me/quick", "--endpoint", fake.url]) == 0
        cap = capsys.readouterr()
        assert token not in cap.out + cap.err and fake.url in cap.out
        stored = fake.files["me/quick"]
        assert set(stored) == {f.repo_path for f in hub.plan(quick)}
        assert stored["README.md"] == (quick / "README.md").read_bytes()
        assert [c["summary"] for c in fake.commits] == ["Upload dataset with dataforge"]
        assert fake.validated == [[]]  # huggingface_hub sent the card to validate-yaml: no error
        path = hf_hub_download("me/quick", "README.md", repo_type="dataset", endpoint=fake.url, token=token,
                               cache_dir=str(tmp_path / "hf-cache"))
        card = DatasetCard.load(path)
        assert card.data.to_dict() == _check_card_data(Path(path).read_text())
        assert card.data.pretty_name == "quickstart" and "LICENSE.md" in stored
    for p in quick.rglob("*"):
        if p.is_file() and p.suffix in (".md", ".json", ".html"):
            assert token not in p.read_text(errors="ignore"), p


def test_fake_hub_validation_rejects_what_the_hub_rejects():
    good = "---\nlicense: [other, mit]\nlicense_name: ag-news-corpus-terms\nlicense_link: LICENSE.md\n---\n"
    assert validate_card_yaml(good) == []
    assert validate_card_yaml("---\nlicense: [other]\nlicense_name: AG's corpus terms\n---\n") == [
        '"license_name" must be an id like my-license-1.0 when "license" is other',
        '"license_link" is required when "license" is other']
    assert validate_card_yaml("---\nlicense: CC BY-SA 4.0\n---\n") == ['"license" "CC BY-SA 4.0" is not a Hub licence id']


def test_card_says_when_dataset_metrics_measured_rows_a_later_step_removed(quick):
    # the quickstart measures its dataset before selecting 6,500 rows of it
    assert main(["publish", str(quick), "--repo-id", "x/y", "--dry-run"]) == 0
    m = json.loads((quick / "manifest.json").read_text())
    st = next(s for s in m["stages"] if s["operator"] == "dataset_metrics")
    n = m["totals"]["rows_out"]
    assert st["rows_out"] > n
    text = (quick / "README.md").read_text()
    assert (f"> **Note:** `{st['name']}` measured {st['rows_out']:,} rows; later steps kept {n:,} of them"
            in text)
    # the report says so beside the figures it draws from those metrics
    note = f"`{st['name']}` measured {st['rows_out']:,} rows; later steps kept {n:,} of them"
    doc = json.loads((quick / "report.json").read_text())
    assert doc["metrics"]["stale"][0].startswith(note) and doc["embedding"]["stale"] == doc["metrics"]["stale"]
    page = (quick / "report" / "index.html").read_text()
    assert page.count(note) >= 2  # the diversity table and the embedding map


def test_card_counts_every_step_that_wrote_a_row(tmp_path):
    """A row generated, answered or rewritten by several steps counts for each, with each
    step's own model and sampling: a step moves the previous step's whole record under
    `meta.earlier` (schema.nest_step_provenance) before writing its own, as the ops do. The
    card had credited evol_instruct with rewrite's sampling and counted only the last writer."""
    import polars as pl

    from dataforge.schema import meta_set, nest_step_provenance

    def step(metas, **keys):  # what base_augment / respond write
        return pl.DataFrame({"meta": metas}).select(meta_set(nest_step_provenance(pl.col("meta")), **keys))["meta"].to_list()

    # evol_instruct's own meta names its respond sampling too
    evol = '{"generator":"evol_instruct","model":"m-evol","revision":null,"sampling":{"evolve":{"t":1.0},"respond":{"t":0.7}},"seed":1,"origin":{"file":"a.jsonl","line":1}}'
    conv = '{"origin":{"file":"b.jsonl","line":2},"template":"t1","seed":42}'
    answered = step([evol, conv], respond={"model": "m-resp"}, backend="hf", model="m-resp", revision=None,
                    sampling={"respond": {"t": 0.2}}, seed=2)
    rewritten = step(answered, augmenter="rewrite", backend="hf", model="m-rw", revision=None,
                     sampling={"rewrite": {"t": 0.3}}, seed=3, field="instruction")
    eda_on_answer = step(answered[1:], augmenter="eda", backend="nlpaug", model=None, revision=None, seed=9)
    eda_on_conv = step([conv], augmenter="eda", backend="nlpaug", model=None, revision=None, seed=8)
    (tmp_path / "data").mkdir()
    pl.DataFrame({"meta": [evol, *answered, *rewritten, *eda_on_answer, *eda_on_conv, '{"template":"t2"}']}).write_parquet(
        tmp_path / "data" / "train-00000-of-00001.parquet")
    got = {(g["by"], g["model"], g["sampling"]): g["rows"] for g in hub.generation_settings(tmp_path)}
    evo = '{"evolve":{"t":1.0},"respond":{"t":0.7}}'
    assert got == {("evol_instruct", "m-evol", evo): 3,  # itself, answered, rewritten
                   ("respond", "m-resp", '{"respond":{"t":0.2}}'): 5,  # two answered, two rewritten, one eda'd
                   ("rewrite", "m-rw", '{"rewrite":{"t":0.3}}'): 2,
                   ("eda", None, None): 2}, got
    # each level of meta.earlier is one step's whole record; convert's template stays on top
    top = json.loads(eda_on_conv[0])
    assert top["template"] == "t1" and top["seed"] == 8 and top["earlier"] == {"seed": 42}
    chain = json.loads(rewritten[0])
    assert chain["augmenter"] == "rewrite" and chain["earlier"]["respond"] == {"model": "m-resp"}
    assert chain["earlier"]["earlier"]["generator"] == "evol_instruct" and chain["origin"]["line"] == 1

def test_a_run_over_an_earlier_runs_shards_inherits_its_sources_licences(quick):
    """Scoring once and selecting over the saved shards: the selection's one source is the
    earlier run's output, whose own sources (and their terms) apply to the rows."""
    rules = hub.load_license_rules()
    direct = hub.derive_licenses(json.loads((quick / "manifest.json").read_text()), rules)
    over = hub.derive_licenses({"sources": [{"name": "scored", "path": str(quick / "data")}]}, rules)
    assert [s["name"] for s in over.sources] == [s["name"] for s in direct.sources]
    assert all(s["via"] == "scored" for s in over.sources)
    assert over.hub == direct.hub and over.warnings == direct.warnings
    assert any("not licensed for commercial use" in w for w in over.warnings)


# -- a tiny run with convert: provenance, templates, recipe files, all-null scores -----------

YESNO_FAMILY = """family: yesno
description: Yes/no questions about a passage.
task: closed_qa
dataset: boolq
lang: en
fields:
  passage: {column: passage}
  question: {column: question}
  label: {column: answer, labels: {false: "no", true: "yes"}}
formats: [one_word, json]
json_key: answer
templates:
  - id: passage_question
    instruction: "Read the passage and answer the question with yes or no."
    input: "Passage: {{ passage }}\\nQuestion: {{ question }}?"
    output: "{{ label }}"
    original_task: true
  - id: based_on
    instruction: "Based on the following passage, {{ question }}?"
    input: "{{ passage }}"
    output: "{{ label }}"
    original_task: true
"""
FAKE_TOKEN = "hf_FakeTokenForTheTestOnly1234567890"


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """A user's own files: `squad_hf.jsonl` (SQuAD's layout, not the sample file), converted with
    the extractive_qa family (whose `dataset` is squad); a byte-for-byte copy of the sample
    file under another name; rows through a custom family file named by its absolute path, and
    a second family file whose comment holds a token. score_label finds no label rows."""
    d = tmp_path_factory.mktemp("conv")
    lines = (SAMPLE / "squad.jsonl").read_text().splitlines()[:6]
    own = [json.dumps(json.loads(x) | {"id": f"mine-{i}", "title": "My own notes"}) for i, x in enumerate(lines)]
    (d / "squad_hf.jsonl").write_text("\n".join(own) + "\n")
    (d / "copy").mkdir()
    (d / "copy" / "qa_data.jsonl").write_bytes((SAMPLE / "squad.jsonl").read_bytes())
    rows = [{"question": f"is item {i} blue", "passage": f"Item {i} is {'blue' if i % 2 else 'red'} and round.",
             "answer": bool(i % 2)} for i in range(8)]
    (d / "yesno.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "yesno_family.yaml").write_text(YESNO_FAMILY)
    (d / "secret_family.yaml").write_text(f"# token: {FAKE_TOKEN}\n" + YESNO_FAMILY.replace("family: yesno", "family: yesno2"))
    text = f"""name: converted
seed: 3
sources:
  - name: squad_hf
    path: {d / 'squad_hf.jsonl'}
    ops:
      - convert: {{family: extractive_qa, prompt_types: {{zero_shot: 0.7, inversion: 0.3}}}}
  - name: mine
    path: {d / 'copy' / 'qa_data.jsonl'}
    limit: 4
    ops:
      - convert: {{family: extractive_qa}}
  - name: yesno
    path: {d / 'yesno.jsonl'}
    ops:
      - convert: {{family: {d / 'yesno_family.yaml'}, output_format: 0.5}}
  - name: yesno2
    path: {d / 'yesno.jsonl'}
    limit: 2
    ops:
      - convert: {{family: {d / 'secret_family.yaml'}}}
pipeline:
  - score_label: {{embeddings: false, min_rows: 3}}
output: {{report: false}}
"""
    out = d / "out"
    recipe.loads(text, where="converted.yaml", base_dir=d).run(out=out)
    return out


def _publish(out: Path, tmp_path: Path, *more: str) -> tuple[dict, str, Path]:
    stage = tmp_path / "repo"
    assert main(["publish", str(out), "--repo-id", "me/conv", "--dry-run", "--stage", str(stage), *more]) == 0
    header, body = _card(out)
    return header, body, stage


def _rows(out: Path) -> list[dict]:
    import polars as pl

    return [json.loads(m) for m in pl.read_parquet(sorted((out / "data").glob("*.parquet")))["meta"]]


def test_card_claims_no_upstream_licence_or_citation_by_name_or_family(converted, tmp_path):
    header, body, _ = _publish(converted, tmp_path)
    sources = body.split("## Sources")[1].split("## Models")[0]
    row = next(x for x in sources.splitlines() if x.startswith("| squad_hf |"))
    # the user's squad_hf.jsonl is not the SQuAD sample: nothing is claimed for it
    assert row.startswith("| squad_hf | unknown | unknown |") and "expmrc" not in row and "SQuAD" not in row, row
    # the byte-for-byte copy of the sample file, under another name and path, is the sample
    mine = next(x for x in sources.splitlines() if x.startswith("| mine |"))
    assert "<https://github.com/ymcui/expmrc>" in mine and "CC-BY-SA-4.0" in mine
    assert header["license"] == ["cc-by-sa-4.0", "unknown"]
    # the card says how to declare it
    assert "--licenses FILE" in sources and "`sources: [{source: squad_hf, license: SPDX-ID" in sources
    # declared by the publisher: that upstream and licence, with the shipped licence terms
    own = tmp_path / "mine.yaml"
    own.write_text("sources:\n  - source: squad_hf\n    license: CC-BY-4.0\n    url: https://example.org/my-qa\n")
    header, body, _ = _publish(converted, tmp_path / "declared", "--licenses", str(own))
    row = next(x for x in body.splitlines() if x.startswith("| squad_hf |"))
    assert "<https://example.org/my-qa>" in row and "[CC-BY-4.0](https://creativecommons.org/licenses/by/4.0/)" in row
    assert header["license"] == ["cc-by-4.0", "cc-by-sa-4.0", "unknown"]  # the sample copy still matches


def test_no_family_dataset_or_file_name_stands_for_a_sample_file():
    """Every built-in family's `dataset` (squad, esnli, ag_news, ...), as a source name or in a
    file name of the user's, gets no licence from the shipped rules: they match content."""
    rules = hub.load_license_rules()
    names = sorted({str(yaml.safe_load(p.read_text()).get("dataset") or p.stem)
                    for p in (ROOT / "rules" / "templates").glob("*.yaml") if not p.stem.startswith("_")})
    names += [p.stem for p in SAMPLE.glob("*.jsonl")]
    assert "squad" in names and "ag_news" in names
    for n in names:
        for path in (f"data/{n}.jsonl", f"/home/me/{n}_hf.jsonl", f"my_{n}"):
            src = {"name": n, "path": path, "files": [{"path": path, "bytes": 10, "xxh3_128": "0" * 32}]}
            lic = hub.derive_licenses({"sources": [src]}, rules)
            assert lic.hub == ["unknown"] and not lic.sources[0]["url"] and not lic.sources[0]["citation"], (n, path)


def test_card_says_how_rows_were_made_from_templates(converted, tmp_path, sample_dir):
    from collections import Counter

    _, body, _ = _publish(converted, tmp_path)
    assert "### Rows made from templates" in body
    metas = _rows(converted)
    section = body.split("### Rows made from templates")[1].split("\n### ")[0]
    tpl = Counter(m["template"] for m in metas)
    fam = Counter(m["family"] for m in metas)
    for name, n in tpl.items():
        assert f"{name.split('/', 1)[1]} ({n})" in section, (name, section)
    assert f"| yesno ([`recipe_files/yesno_family.yaml`](recipe_files/yesno_family.yaml)) | yesno | {fam['yesno']} |" in section
    assert "| yesno2 (custom family file, not in this repository: see How to reproduce) |" in section
    assert f"| extractive_qa | mine, squad_hf | {fam['extractive_qa']} |" in section
    pt = Counter(m["prompt_type"] for m in metas)
    assert f"zero-shot {pt['zero_shot']}" in section and f"inversion (the input written from the answer) {pt['inversion']}" in section
    fmts = Counter(m["format"] for m in metas if m.get("format"))
    assert fmts and all(f"{k} {n}" in section for k, n in fmts.items())
    # a run without convert: no such section
    out = tmp_path / "plain"
    recipe.loads(f"name: plain\nsources:\n  - {{name: alpaca, path: {sample_dir / 'alpaca.jsonl'}, limit: 5}}\n"
                 "pipeline: []\noutput: {report: false}\n", where="plain.yaml", base_dir=tmp_path).run(out=out)
    text = hub.build_card(out, "me/plain").text
    assert "template" not in text.split("## How to reproduce")[0].lower()


def test_recipe_files_travel_with_the_upload_or_are_named_as_left_out(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    _, body, stage = _publish(converted, tmp_path)
    d = converted.parent
    planned = {f.repo_path: f for f in hub.plan(converted)}
    assert planned["recipe_files/yesno_family.yaml"].local == (d / "yesno_family.yaml").resolve()
    assert (stage / "recipe_files" / "yesno_family.yaml").read_text() == YESNO_FAMILY
    # the file with a token in it is never uploaded; the card names it as left out, and why
    assert not any("secret" in p for p in planned) and not list(stage.rglob("secret_family*"))
    for p in stage.rglob("*"):
        if p.is_file():
            assert FAKE_TOKEN not in p.read_text(errors="ignore"), p
    repro = body.split("## How to reproduce")[1]
    assert f"| `{d / 'yesno_family.yaml'}` | [`recipe_files/yesno_family.yaml`](recipe_files/yesno_family.yaml) |" in repro
    left = repro.split("Not included in this repository")[1]
    assert f"- `{d / 'secret_family.yaml'}`: it may hold a credential" in left
    # every absolute local path in the card comes with a word that it is the publisher's
    for line in body.splitlines():
        if str(d) in line and not line.startswith(("  ", "- `", "| `")) and "publisher's machine" not in line:
            raise AssertionError(f"unexplained local path: {line}")
    assert "paths on the publisher's machine" in repro


def test_a_score_null_on_every_row_is_listed_with_the_reason(converted, tmp_path):
    import polars as pl

    assert pl.read_parquet(sorted((converted / "data").glob("*.parquet")))["score_label"].is_null().all()
    _, body, _ = _publish(converted, tmp_path)
    configs = body.split("Configurations:")[1].split("\n\n")[0]
    assert "score_label (null on every row: see Scores)" in configs
    scores = body.split("### Scores")[1].split("\n## ")[0]
    assert "- `score_label`: not computed, null on every row" in scores and "min_rows" in scores
    assert "(this run: `embeddings: False`, `min_rows: 3`)" in scores


def test_eda_synonym_table_is_listed_with_its_wordnet_licence():
    # a new user's card listed no licence for eda's synonym table (derived from WordNet 3.0)
    from dataforge import models_used, op

    lex = [m for m in models_used.collect([op("eda")], None) if m["role"] == "lexicon"]
    assert len(lex) == 1 and "WordNet" in lex[0]["license"] and lex[0]["revision"].startswith("sha256:")
    assert not [m for m in models_used.collect([op("eda", actions=["swap", "delete"])], None) if m["role"] == "lexicon"]


def test_card_warns_when_few_shot_exemplars_cross_splits():
    """`output.exemplar_split: hash` leaves evaluation rows inside training prompts: the card says so."""
    from dataforge.io.hub import _exemplar_warnings

    assert _exemplar_warnings({}) == []
    ok = {"policy": "train", "training_split": "train", "rows_to_train": {"validation": 3}, "cross_split_uses": 0}
    assert _exemplar_warnings({"exemplar_splits": ok}) == []
    w = _exemplar_warnings({"exemplar_splits": ok | {"policy": "hash", "rows_to_train": {}, "cross_split_uses": 15}})
    assert len(w) == 1 and "15 few-shot exemplar use(s)" in w[0] and "`exemplar_split: train`" in w[0]
