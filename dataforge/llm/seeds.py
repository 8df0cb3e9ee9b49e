"""Per-item seeds: one batch seed would give every prompt the same random stream.

Each item's seed derives from the batch seed and the item's content, not its position, so
the same request gets the same completions in any batch (and agrees with the cache).
"""
from __future__ import annotations

import json
import zlib


def item_seed(seed: int | None, item) -> int | None:
    if seed is None:
        return None
    blob = item if isinstance(item, str) else json.dumps(item, sort_keys=True, ensure_ascii=False)
    return (seed * 1_000_003 + zlib.crc32(blob.encode("utf-8"))) % (2**31 - 1)
