"""The search log: one JSON object a line, flushed as the search goes (a killed search leaves
what it did; a rerun with the same settings replays from the LLM cache and rewrites it).

    {"event": "start", "search_id": ..., "config": {...}, "dev_hash": ..., "original": id}
    {"event": "candidate", "generation": g, "id": ..., "parents": [...], "op": ..., "fitness": f,
     "system": ..., "prompt": ..., "detail": {...}}
    {"event": "rejected", "generation": g, "op": ..., "why": ..., "reply": first 300 chars}
    {"event": "generation", "generation": g, "best": f, "mean": f, "llm_calls": n}
    {"event": "stop", "reason": ..., "detail": ...}
"""
from __future__ import annotations

import json
from pathlib import Path


class SearchLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "w", encoding="utf-8")
        self.records: list[dict] = []

    def write(self, event: str, **fields) -> None:
        rec = {"event": event, **fields}
        self.records.append(rec)
        self._f.write(json.dumps(rec, ensure_ascii=False, default=float) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
