"""Batched seq2seq translation (MarianMT / opus-mt and other encoder-decoder models) with transformers.

Why not nlpaug's BackTranslationAug: its model wrapper pads every text of a call to the
longest one and runs a DataLoader worker process per call; here texts are sorted by length
and padded per batch, which is what makes CPU back-translation affordable.
"""
from __future__ import annotations

import threading
from pathlib import Path

from dataforge.errors import MissingResourceError

_MODELS: dict[tuple[str, str], "Translator"] = {}
_LOCK = threading.Lock()


class Translator:
    def __init__(self, path: str, device: str | None = None):
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError:
            raise MissingResourceError("back-translation with `engine: marian` needs torch and transformers") from None
        self.path = path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(path)
        except (OSError, ValueError) as e:
            local = Path(path).exists()
            raise MissingResourceError(
                f"cannot load translation model '{path}': {str(e).splitlines()[0]}. "
                + ("Give a folder with a saved seq2seq model and tokenizer." if local else
                   "Give `models: {SRC-TGT: /path/to/model}` with local MarianMT folders, or download "
                   f"'{path}' into the Hugging Face cache beforehand (runs are offline).")
            ) from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()

    def translate(self, texts: list[str], *, batch_size: int = 32, num_beams: int = 1,
                  max_new_tokens: int = 256) -> list[str]:
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch
        out: list[str] = [""] * len(texts)
        for b in range(0, len(order), batch_size):
            idx = order[b: b + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True)
            enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            with torch.inference_mode():
                ids = self.model.generate(**enc, num_beams=num_beams, do_sample=False,
                                          max_new_tokens=max_new_tokens)
            for i, text in zip(idx, self.tokenizer.batch_decode(ids, skip_special_tokens=True)):
                out[i] = text.strip()
        return out


def load(path: str, device: str | None = None) -> Translator:
    """One model per (path, device) in a process."""
    key = (path, device or "auto")
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = Translator(path, device)
        return _MODELS[key]
