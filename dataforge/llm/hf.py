"""transformers backend: batched `generate` for small models on CPU or GPU.

Stop strings, presence penalty and top-k logprobs are supported; `choice` is answered by
scoring each choice's log-likelihood (exact, no free text); `json_schema` is not constrained
during decoding but checked after it: an item whose reply does not parse as JSON or does not
match the schema fails with the reason (dataforge/llm/structured.py), as in the other backends.
"""
from __future__ import annotations

import math
from typing import Any

from dataforge.errors import MissingResourceError
from dataforge.llm.base import LLM, Chat, Completion, Result, Sampling
from dataforge.llm.stops import cut_at_stop
from dataforge.llm.structured import enforce


class HFLLM(LLM):
    backend = "hf"

    def __init__(self, model: str, *, device: str | None = None, dtype: str = "auto",
                 batch_size: int = 16, trust_remote_code: bool = False, **options: Any):
        super().__init__(model, **options)
        self.device = device
        self.dtype = dtype
        self.batch_size = int(batch_size)
        self.trust_remote_code = trust_remote_code
        self._tok = None
        self._model = None

    # -- loading ------------------------------------------------------------------
    def _load(self):
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover - the ml extra is missing
            raise MissingResourceError(f"the hf backend needs `pip install dataforge[ml]`: {e}") from None
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            rev = {"revision": self.options["revision"]} if self.options.get("revision") else {}
            tok = AutoTokenizer.from_pretrained(self.model, trust_remote_code=self.trust_remote_code, **rev)
            model = AutoModelForCausalLM.from_pretrained(
                self.model, dtype=self.dtype, trust_remote_code=self.trust_remote_code, **rev)
        except OSError as e:
            raise MissingResourceError(f"hf backend: cannot load model '{self.model}': {e}") from None
        tok.padding_side = "left"  # decoder-only: pad on the left so generation continues the prompt
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self._tok, self._model, self._device = tok, model.to(device).eval(), device

    # -- interface ----------------------------------------------------------------
    def _generate(self, prompts: list[str], sampling: Sampling) -> list[Result]:
        return self._run(prompts, sampling, add_special=True)

    def _chat(self, chats: list[Chat], sampling: Sampling) -> list[Result]:
        self._load()
        texts = [self._tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in chats]
        return self._run(texts, sampling, add_special=False)  # the template already has BOS

    def close(self) -> None:
        self._model = None
        self._tok = None

    # -- batching -------------------------------------------------------------------
    def _run(self, texts: list[str], sampling: Sampling, add_special: bool) -> list[Result]:
        self._load()
        results: list[Result | None] = [None] * len(texts)
        # sort by length so each batch pads little; results go back to input order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            chunk = [texts[i] for i in idx]
            try:
                if sampling.choice:
                    out = self._choose(chunk, sampling, add_special)
                else:
                    out = self._generate_batch(chunk, sampling, add_special)
            except Exception as e:  # noqa: BLE001 - one failed batch must not stop the run
                out = [Result(error=f"hf backend: {type(e).__name__}: {e}") for _ in chunk]
            for i, r in zip(idx, out):
                results[i] = r
        return enforce(results, sampling, "hf")  # type: ignore[arg-type]

    def _generate_batch(self, chunk: list[str], s: Sampling, add_special: bool) -> list[Result]:
        import torch
        from transformers import LogitsProcessorList

        tok, model = self._tok, self._model
        enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=add_special).to(self._device)
        plen = enc["input_ids"].shape[1]
        kw: dict[str, Any] = dict(max_new_tokens=s.max_tokens, num_return_sequences=s.n,
                                  pad_token_id=tok.pad_token_id, return_dict_in_generate=True,
                                  output_logits=s.logprobs is not None)
        if s.temperature > 0:
            kw.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        # special-token stops (Magpie's "<|start_header_id|>", ...) end a row like EOS: decoding
        # skips special tokens, so the text alone would not show the stop and say "length"
        eos = _eos_ids(model, tok)
        special_stops = {i for t, i in tok.get_added_vocab().items() if t in s.stop}
        if special_stops - eos:
            eos |= special_stops
            kw["eos_token_id"] = sorted(eos)
        if s.stop:
            kw.update(stop_strings=list(s.stop), tokenizer=tok)
        if s.presence_penalty:
            kw["logits_processor"] = LogitsProcessorList([_PresencePenalty(s.presence_penalty, plen)])
        if s.seed is not None:
            torch.manual_seed(s.seed)
        with torch.no_grad():
            out = model.generate(**enc, **kw)
        gen = out.sequences[:, plen:].tolist()
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        results = []
        for b in range(len(chunk)):
            comps = []
            for j in range(s.n):
                row = b * s.n + j
                ids = gen[row]
                end = next((k for k, t in enumerate(ids) if t in eos or t == tok.pad_token_id), len(ids))
                text = tok.decode(ids[:end], skip_special_tokens=True)
                text, hit = cut_at_stop(text, s.stop)
                finished = hit or end < len(ids)
                lp = _top_logprobs(out.logits, row, end, s.logprobs, tok) if s.logprobs else None
                comps.append(Completion(text=text, finish_reason="stop" if finished else "length",
                                        prompt_tokens=int(prompt_lens[b]), completion_tokens=end, logprobs=lp))
            results.append(Result(comps))
        return results

    def _choose(self, chunk: list[str], s: Sampling, add_special: bool) -> list[Result]:
        """Score every choice's log-likelihood after each prompt; pick (T=0) or sample (T>0)."""
        import torch

        tok, model = self._tok, self._model
        choices = list(s.choice or ())
        gen = torch.Generator().manual_seed(s.seed if s.seed is not None else 0)
        results = []
        for prompt in chunk:
            p_ids = tok(prompt, add_special_tokens=add_special)["input_ids"]
            c_ids = [tok(c, add_special_tokens=False)["input_ids"] for c in choices]
            seqs = [p_ids + c for c in c_ids]
            width = max(map(len, seqs))
            pad = tok.pad_token_id
            ids = torch.tensor([[pad] * (width - len(q)) + q for q in seqs], device=self._device)
            mask = torch.tensor([[0] * (width - len(q)) + [1] * len(q) for q in seqs], device=self._device)
            with torch.no_grad():
                logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
            scores = []
            for r, c in enumerate(c_ids):
                pos = range(width - len(c), width)  # positions of the choice's tokens
                scores.append(sum(logp[r, p - 1, ids[r, p]].item() for p in pos))
            t = torch.tensor(scores)
            if s.temperature > 0:
                picks = torch.multinomial(torch.softmax(t / s.temperature, 0), s.n, replacement=True, generator=gen).tolist()
            else:
                picks = [int(t.argmax())] * s.n
            results.append(Result([Completion(text=choices[k], finish_reason="stop", prompt_tokens=len(p_ids),
                                              completion_tokens=len(c_ids[k])) for k in picks]))
        return results


class _PresencePenalty:
    """Subtract `penalty` from the logit of every token already generated (OpenAI/vLLM semantics)."""

    def __init__(self, penalty: float, prompt_len: int):
        self.penalty, self.prompt_len = penalty, prompt_len

    def __call__(self, input_ids, scores):
        import torch

        gen = input_ids[:, self.prompt_len:]
        if gen.shape[1] == 0:
            return scores
        seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, gen, True)
        return scores - self.penalty * seen.to(scores.dtype)


def _eos_ids(model, tok) -> set[int]:
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return ids


def _top_logprobs(logits, row: int, end: int, k: int, tok) -> list[dict[str, float]]:
    import torch

    out = []
    for step in range(min(end, len(logits))):
        lp = torch.log_softmax(logits[step][row].float(), dim=-1)
        vals, ids = lp.topk(k)
        out.append({tok.decode([i]): (v if math.isfinite(v) else -1e9)
                    for i, v in zip(ids.tolist(), vals.tolist())})
    return out
