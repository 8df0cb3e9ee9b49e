"""The openai backend against a local fault-injecting HTTP server: retries, then rejects.

This fake server only injects faults (429, 500, timeouts, garbage); the real-engine test
against vLLM's OpenAI server is in test_llm_vllm_cpu.py.
"""
import glob
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

from dataforge.io.source import Source
from dataforge.llm import Sampling, from_spec
from dataforge.ops.base import create
from dataforge.pipeline import Pipeline

SECRET = "sk-test-DO-NOT-LEAK-1234567890"


class Fake(BaseHTTPRequestHandler):
    attempts: dict = {}
    auth: list = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Fake.auth.append(self.headers.get("Authorization"))
        text = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        n = Fake.attempts[text] = Fake.attempts.get(text, 0) + 1
        if "flaky429" in text and n <= 2:
            return self._send(429, b'{"error": "slow down"}', {"Retry-After": "0"})
        if "flaky500" in text and n <= 1:
            return self._send(500, b"oops")
        if "always500" in text:
            return self._send(503, b"down")
        if "slow" in text:
            time.sleep(1.0)  # past the client timeout
        if "garbage" in text:
            return self._send(200, b"<html>not json</html>")
        if "bad request" in text:
            return self._send(400, b'{"error": "bad"}')
        if text.startswith("json:"):  # a server that ignores the schema: the reply is the text after "json:"
            reply = text[5:]
            return self._send(200, json.dumps({"choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": reply}}]}).encode())
        choices = [{"index": i, "finish_reason": "stop",
                    **({"message": {"role": "assistant", "content": f"re: {text} #{i}"}} if "messages" in body
                       else {"text": f"re: {text} #{i}"})} for i in range(body.get("n", 1))]
        self._send(200, json.dumps({"choices": choices, "usage": {"prompt_tokens": 3, "completion_tokens": 4 * len(choices)}}).encode())

    def _send(self, code, data, headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    Fake.attempts, Fake.auth = {}, []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_retries_then_errors(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    llm = from_spec(f"openai:{server}@m", timeout=0.3, max_retries=2, backoff=0.01)
    items = ["ok", "flaky429", "flaky500", "always500", "slow", "garbage", "bad request"]
    res = llm.chat([[{"role": "user", "content": t}] for t in items], Sampling(n=2))
    by = dict(zip(items, res))
    assert [c.text for c in by["ok"].completions] == ["re: ok #0", "re: ok #1"]
    assert by["ok"].completions[0].prompt_tokens == 3 and by["ok"].completions[0].completion_tokens == 4
    assert by["flaky429"].ok and Fake.attempts["flaky429"] == 3
    assert by["flaky500"].ok and Fake.attempts["flaky500"] == 2
    assert "HTTP 503" in by["always500"].error and Fake.attempts["always500"] == 3
    assert "timeout" in by["slow"].error
    assert "unparseable" in by["garbage"].error and Fake.attempts["garbage"] == 3
    assert "HTTP 400" in by["bad request"].error and Fake.attempts["bad request"] == 1  # not retried
    assert set(Fake.auth) == {f"Bearer {SECRET}"}
    gen = llm.generate(["ok"], Sampling())
    assert gen[0].completions[0].text == "re: ok #0"


def test_pipeline_rejects_failures_accounting_holds_key_never_written(server, tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    df = pl.DataFrame({"instruction": ["hello there", "always500 please", "garbage now", "flaky429 one"],
                       "output": ["", "", "", ""]})
    spec = f"openai:{server}@m?timeout=0.5&max_retries=2&backoff=0.01"
    res = Pipeline([create("respond", {})]).run(Source(name="t", path=df), out=tmp_path / "out", llm=spec)
    tot = res.manifest["totals"]
    assert tot["balanced"] and tot["rows_out"] == 2 and tot["rows_rejected"] == 2
    rej = pl.concat([pl.read_parquet(p) for p in glob.glob(str(tmp_path / "out" / "rejects" / "*.parquet"))])
    assert sorted(rej["reason"].str.split(":").list.first()) == ["llm_error", "llm_error"]
    assert any("retry" in r.message for r in caplog.records)
    # the key is in no log, no printed output, no file of the run (cache included)
    out, err = capsys.readouterr()
    assert SECRET not in caplog.text + out + err
    assert SECRET not in repr(from_spec(spec))
    for p in (tmp_path / "out").rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p


def test_replies_that_miss_the_json_schema_fail_with_the_reason(server):
    llm = from_spec(f"openai:{server}@m?structured=none", max_retries=0)
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    items = ['json:{"score": 3}', 'json:{"score": "high"}', "json:not json", 'json:{"other": 1}']
    res = llm.chat([[{"role": "user", "content": t}] for t in items], Sampling(json_schema=schema))
    assert res[0].ok and json.loads(res[0].completions[0].text) == {"score": 3}
    assert "openai: json_schema: reply does not match the JSON schema at score" in res[1].error
    assert "reply is not JSON" in res[2].error
    assert "'score' is a required property" in res[3].error
    free = llm.chat([[{"role": "user", "content": "json:not json"}]], Sampling())  # no schema: no check
    assert free[0].ok
