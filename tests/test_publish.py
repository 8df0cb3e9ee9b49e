"""Publishing: licence derivation, the dataset card, the dry-run plan, loading the planned folder
with `datasets` offline, and the upload against HfApi with only its network calls stood in."""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from dataforge import recipe
from dataforge.cli import main
from dataforge.errors import MissingResourceError
from dataforge.io import hub

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "rules" / "recipes" / "quickstart.yaml"


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> Path:
    doc = yaml.safe_load(QUICKSTART.read_text())
    doc.setdefault("output", {})["formats"] = ["messages", "alpaca"]
    pipe = recipe.loads(yaml.safe_dump(doc), where=str(QUICKSTART), base_dir=QUICKSTART.parent)
    out = tmp_path_factory.mktemp("pub") / "quick"
    pipe.run(out=out)
    return out


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
    # scitldr (Apache-2.0), ag_news (research-only terms: "other"); no MIT-only source
    assert "cc-by-nc-4.0" in header["license"] and "cc-by-sa-4.0" in header["license"]
    assert "cc-by-4.0" in header["license"] and "apache-2.0" in header["license"]
    assert "other" in header["license"] and "mit" not in header["license"]
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
    assert {c["config_name"] for c in header["configs"]} == {"default", "messages", "alpaca"}
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


def test_license_derivation_and_conflicts():
    rules = hub.load_license_rules()
    same = hub.derive_licenses(_manifest(("a", "x/seed_tasks.jsonl"), ("b", "y/scitldr_a_dev.jsonl")), rules)
    assert same.hub == ["apache-2.0"] and same.warnings == []
    sa_nc = hub.derive_licenses(_manifest(("sq", "d/squad_v1_1_dev_subset.jsonl"), ("al", "alpaca.jsonl")), rules)
    assert any("licence conflict" in w for w in sa_nc.warnings)
    assert any("['al'] are not licensed for commercial" in w for w in sa_nc.warnings)
    ag = hub.derive_licenses(_manifest(("ag", "nlp/ag_news/ag_news_test_sample.jsonl")), rules)
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
