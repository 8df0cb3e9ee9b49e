"""The `messages` export trains: load it with `datasets` and run one TRL SFTTrainer step on a tiny
random model built here (dataforge.testing.tiny_models), with no network."""
from __future__ import annotations

import math

import pytest

from dataforge.io.shards import ShardSpec
from dataforge.io.source import Source
from dataforge.ops.basic import Normalize
from dataforge.pipeline import OutputSpec, Pipeline


@pytest.mark.slow
def test_messages_export_runs_one_sft_step(tmp_path, sample_dir, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    trl = pytest.importorskip("trl")
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dataforge.testing.tiny_models import build_tiny_causal_lm

    out = tmp_path / "out"
    spec = OutputSpec(shards=ShardSpec(splits={"train": 1.0}), formats=["messages"], report=False)
    system = Source(name="seed_tasks", path=str(sample_dir / "seed_tasks.jsonl"), limit=8,
                    template={"input": "{name}"}, map={"output": "name"}, set={"system": "Be brief."})
    Pipeline([Normalize()], output=spec).run(
        [Source(name="alpaca", path=str(sample_dir / "alpaca.jsonl"), limit=24), system], out)

    ds = datasets.load_dataset("parquet", data_files=str(out / "messages" / "train-*.parquet"),
                               split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == 32 and ds.column_names == ["id", "messages"]
    assert any(m[0]["role"] == "system" for m in ds["messages"])

    model_dir = build_tiny_causal_lm(tmp_path / "tiny", chat_format="qwen2")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    args = trl.SFTConfig(output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=4,
                         learning_rate=1e-2, max_length=256, report_to=[], save_strategy="no",
                         logging_steps=1, use_cpu=True, dataloader_num_workers=0, seed=0)
    trainer = trl.SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    result = trainer.train()
    assert result.global_step == 1 and math.isfinite(result.training_loss) and result.training_loss > 0
    changed = sum(not torch.equal(before[n], p.detach()) for n, p in model.named_parameters())
    assert changed > 0  # the step updated the weights
