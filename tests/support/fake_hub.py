"""A local stand-in for the Hugging Face Hub API: enough for `HfApi.create_repo`,
`list_repo_files`, `create_commit` (regular uploads) and `hf_hub_download`.

    with FakeHub(token="hf_x") as hub:        # http://127.0.0.1:PORT, stops itself after `lifetime` s
        ...  HfApi(endpoint=hub.url, token="hf_x") ...
        hub.files["user/name"]["README.md"]   # what was committed

Requests without the expected bearer token get 401, so a test also checks the token was sent.
Bounded: one thread, stops at `with` exit or after `lifetime` seconds, whichever comes first.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


# Hub licence ids a card may use (https://huggingface.co/docs/hub/repositories-licenses; the
# subset dataforge's rules map to, plus other/unknown)
HUB_LICENSES = {"apache-2.0", "mit", "cc0-1.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
                "cc-by-nc-sa-4.0", "odc-by", "other", "unknown"}
SIZE_CATEGORIES = {"n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B", "n>1B"}


def validate_card_yaml(content: str) -> list[str]:
    """The metadata rules the Hub applies to a dataset card that dataforge writes (what /api/validate-yaml
    checks for these fields): a YAML header, known licence ids, `other` with license_name and
    license_link, size categories, and configs whose data_files name a split and a path."""
    import yaml

    m = re.match(r"^---\n(.*?)\n---\n", content, re.S)
    if not m:
        return ["no YAML metadata header"]
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        return [f"YAML does not parse: {e}"]
    errors = []
    lic = meta.get("license")
    lics = lic if isinstance(lic, list) else [lic] if lic else []
    errors += [f'"license" "{x}" is not a Hub licence id' for x in lics if x not in HUB_LICENSES]
    if "other" in lics:
        name = meta.get("license_name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name):
            errors.append('"license_name" must be an id like my-license-1.0 when "license" is other')
        if not meta.get("license_link"):
            errors.append('"license_link" is required when "license" is other')
    errors += [f'"size_categories" "{x}" is unknown' for x in meta.get("size_categories") or [] if x not in SIZE_CATEGORIES]
    for c in meta.get("configs") or []:
        if not isinstance(c, dict) or "config_name" not in c:
            errors.append("each config needs config_name")
            continue
        for d in c.get("data_files") or []:
            if not isinstance(d, dict) or not {"split", "path"} <= set(d):
                errors.append(f"config {c['config_name']}: data_files entries need split and path")
    return errors


class FakeHub:
    def __init__(self, token: str, lifetime: float = 300.0):
        self.token = token
        self.lifetime = lifetime
        self.files: dict[str, dict[str, bytes]] = {}
        self.commits: list[dict] = []
        self.requests: list[str] = []  # "METHOD path" of every request
        self.validated: list[list[str]] = []  # errors of each /api/validate-yaml call

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            owner = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.timer = threading.Timer(self.lifetime, self.server.shutdown)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHub

    def log_message(self, *args) -> None:  # quiet; never prints headers (the token)
        pass

    # -- helpers --------------------------------------------------------------------------
    def _send(self, code: int, body: bytes | dict | list = b"", headers: dict | None = None, head: bool = False):
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        self.send_response(code)
        hdrs = {"Content-Type": "application/json" if isinstance(body, (dict, list)) else "application/octet-stream",
                "Content-Length": str(len(data)), **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.owner.token}":
            self._send(401, {"error": "Invalid credentials"})
            return False
        return True

    def _repo(self, ns: str, name: str) -> dict[str, bytes] | None:
        return self.owner.files.get(f"{ns}/{name}")

    # -- routes ---------------------------------------------------------------------------
    def do_POST(self):
        path = urlparse(self.path).path
        self.owner.requests.append(f"POST {path}")
        if not self._authorised():
            return
        body = self._body()
        if path == "/api/validate-yaml":
            doc = json.loads(body)
            errors = validate_card_yaml(doc["content"]) if doc.get("repoType") == "dataset" else []
            self.owner.validated.append(errors)
            return self._send(400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []})
        if path == "/api/repos/create":
            doc = json.loads(body)
            repo = f"{doc.get('organization') or 'user'}/{doc['name']}"
            self.owner.files.setdefault(repo, {})
            return self._send(200, {"url": f"{self.owner.url}/datasets/{repo}", "name": repo})
        m = re.fullmatch(r"/api/datasets/([^/]+)/([^/]+)/preupload/([^/]+)", path)
        if m:
            files = json.loads(body)["files"]
            return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                               "oid": None} for f in files], "commitOid": _oid(b"")})
        m = re.fullmatch(r"/api/datasets/([^/]+)/([^/]+)/commit/([^/]+)", path)
        if m:
            repo = self._repo(m.group(1), m.group(2))
            if repo is None:
                return self._send(404, {"error": "Repository not found"})
            summary = None
            for line in body.decode().splitlines():
                item = json.loads(line)
                v = item["value"]
                if item["key"] == "header":
                    summary = v.get("summary")
                elif item["key"] == "file":
                    repo[v["path"]] = base64.b64decode(v["content"]) if v.get("encoding") == "base64" else v["content"].encode()
                elif item["key"] == "deletedFile":
                    repo.pop(v["path"], None)
                else:
                    return self._send(400, {"error": f"unsupported commit item {item['key']}"})
            oid = _oid(json.dumps(sorted((k, _oid(b)) for k, b in repo.items())).encode())
            self.owner.commits.append({"repo": f"{m.group(1)}/{m.group(2)}", "summary": summary, "oid": oid})
            return self._send(200, {"commitUrl": f"{self.owner.url}/datasets/{m.group(1)}/{m.group(2)}/commit/{oid}",
                                    "commitOid": oid, "pullRequestUrl": None})
        return self._send(404, {"error": f"no route POST {path}"})

    def do_GET(self):
        self._get(head=False)

    def do_HEAD(self):
        self._get(head=True)

    def _get(self, head: bool):
        path = urlparse(self.path).path
        self.owner.requests.append(f"{'HEAD' if head else 'GET'} {path}")
        if not self._authorised():
            return
        m = re.fullmatch(r"/api/datasets/([^/]+)/([^/]+)/tree/([^/]+)(/.*)?", path)
        if m:
            repo = self._repo(m.group(1), m.group(2))
            if repo is None:
                return self._send(404, {"error": "Repository not found"}, head=head)
            return self._send(200, [{"type": "file", "path": p, "size": len(b), "oid": _oid(b)}
                                    for p, b in sorted(repo.items())], head=head)
        m = re.fullmatch(r"/datasets/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            repo = self._repo(m.group(1), m.group(2))
            name = unquote(m.group(4))
            if repo is None or name not in repo:
                return self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"}, head=head)
            data = repo[name]
            commit = self.owner.commits[-1]["oid"] if self.owner.commits else _oid(b"")
            return self._send(200, data, {"ETag": f'"{_oid(data)}"', "X-Repo-Commit": commit}, head=head)
        return self._send(404, {"error": f"no route GET {path}"}, head=head)


def _oid(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
