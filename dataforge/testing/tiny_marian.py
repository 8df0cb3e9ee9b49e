"""A tiny random-initialised MarianMT translation model, built offline in about a second.

    from dataforge.testing.tiny_marian import build_tiny_marian
    en_de = build_tiny_marian(tmp_path / "en-de")      # -> folder loadable by AutoModelForSeq2SeqLM

MarianMT architecture (d_model 64, one encoder and one decoder layer) with a BPE tokenizer
trained with `tokenizers` on the sample data and saved as a transformers fast tokenizer
(the real opus-mt models use sentencepiece, which is not installed here; the model side is
the same). Weights are random, so "translations" are gibberish: enough for the plumbing of
back-translation (loading, batching, decoding, the guards), not for quality.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from dataforge.testing.tiny_models import _sample_texts, save_tokenizer

_SPECIALS = ["<pad>", "</s>", "<unk>"]


def build_tokenizer(out_dir: Path, *, vocab_size: int = 400, texts: Iterable[str] | None = None):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()  # sentencepiece-style word starts, readable output
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=_SPECIALS, show_progress=False)
    tok.train_from_iterator(list(texts) if texts is not None else _sample_texts(1000), trainer=trainer)
    # Marian appends </s> to every source text
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    fast.model_max_length = 512
    return save_tokenizer(fast, out_dir)


def build_tiny_marian(out_dir: str | Path, *, seed: int = 0, texts: Iterable[str] | None = None) -> Path:
    """Build and save a tiny MarianMT model + tokenizer in `out_dir`; return the folder."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out, texts=texts)
    config = MarianConfig(
        vocab_size=len(tok), d_model=64, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
        max_position_embeddings=512, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id, forced_eos_token_id=tok.eos_token_id,
        share_encoder_decoder_embeddings=True,
        init_std=0.5,  # larger than the default 0.02 so the output depends on the input
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.decoder_start_token_id = tok.pad_token_id
    model.save_pretrained(str(out))
    return out
