"""Content-addressed completion cache: (model, prompt or chat, sampling) -> completions.

A resumed or repeated run asks the backend only for what it has not answered before.
Stored in one SQLite file under the output folder (`OUT/cache/llm/completions.sqlite`):
atomic writes, no file per prompt. Failed items are not cached, so a rerun retries them.
Identical requests inside one batch are sent once.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dataforge.llm.base import LLM, Chat, Completion, Result, Sampling


def request_key(model_id: str, kind: str, item: Any, sampling: Sampling) -> str:
    blob = json.dumps({"model": model_id, "kind": kind, "input": item, "sampling": sampling.key()},
                      sort_keys=True, ensure_ascii=False, default=list)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CachedLLM(LLM):
    """Wrap any backend; same interface. `hits` / `misses` count items for reports and tests."""

    def __init__(self, llm: LLM, cache_dir: str | Path):
        super().__init__(llm.model)
        self.inner = llm
        self.backend = llm.backend
        self.path = Path(cache_dir) / "completions.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # several processes (Ray actors) may write this file: wait for the lock, don't fail
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS c (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def provenance(self) -> dict:
        return self.inner.provenance()

    def _generate(self, prompts: list[str], sampling: Sampling) -> list[Result]:
        return self._cached("generate", prompts, sampling, self.inner.generate)

    def _chat(self, chats: list[Chat], sampling: Sampling) -> list[Result]:
        return self._cached("chat", chats, sampling, self.inner.chat)

    def _cached(self, kind: str, items: list, sampling: Sampling, call) -> list[Result]:
        keys = [request_key(self.model_id, kind, it, sampling) for it in items]
        found = self._get(set(keys))
        out: list[Result | None] = [found.get(k) for k in keys]
        todo: dict[str, int] = {}  # key -> index of its first item (duplicates are sent once)
        for i, k in enumerate(keys):
            if out[i] is None and k not in todo:
                todo[k] = i
        self.hits += sum(r is not None for r in out)
        self.misses += len(todo)
        if todo:
            fresh = call([items[i] for i in todo.values()], sampling)
            new = dict(zip(todo, fresh))
            self._put({k: r for k, r in new.items() if r.ok})
            out = [r if r is not None else new[k] for r, k in zip(out, keys)]
        return out  # type: ignore[return-value]

    def _get(self, keys: set[str]) -> dict[str, Result]:
        res: dict[str, Result] = {}
        ks = list(keys)
        with self._lock:
            for start in range(0, len(ks), 500):  # SQLite's bound-parameter limit
                chunk = ks[start:start + 500]
                q = f"SELECT k, v FROM c WHERE k IN ({','.join('?' * len(chunk))})"
                for k, v in self._db.execute(q, chunk):
                    res[k] = Result([Completion(**c) for c in json.loads(v)])
        return res

    def _put(self, rows: dict[str, Result]) -> None:
        if not rows:
            return
        data = [(k, json.dumps([asdict(c) for c in r.completions], ensure_ascii=False)) for k, r in rows.items()]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO c (k, v) VALUES (?, ?)", data)
            self._db.execute("COMMIT")

    def close_cache(self) -> None:
        """Close the cache only: the backend stays open for its other users."""
        with self._lock:
            self._db.close()

    def close(self) -> None:
        self.close_cache()
        self.inner.close()
