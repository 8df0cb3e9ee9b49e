"""GPU check: our vllm backend vs the raw vLLM engine on a given model (prints throughput + ratio).

    python scripts/gpu_check.py MODEL_DIR_OR_ID [--prompts 1024] [--max-tokens 256] [--tp 1]

Needs the official `vllm` on a GPU machine (no download happens if MODEL is a local folder).
Prints one JSON line per mode (generate, chat) with tokens/s of both and their ratio.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompts", type=int, default=1024)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--tp", type=int, default=1, help="tensor_parallel_size")
    a = ap.parse_args()
    from dataforge.llm.throughput import compare

    for chat in (False, True):
        r = compare(a.model, n_prompts=a.prompts, max_tokens=a.max_tokens, chat=chat, tensor_parallel_size=a.tp)
        print(json.dumps({"mode": "chat" if chat else "generate", **r}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
