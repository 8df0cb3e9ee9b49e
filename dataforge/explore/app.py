"""The `dataforge explore` web app: a Starlette JSON API over `query.Run` and one static page.

    GET /                       the page (static/index.html, no external asset)
    GET /api/runs               the runs served (one, or two with --compare)
    GET /api/info?run=a         facets (sources, tasks, splits, reject rules), score ranges, totals
    GET /api/rows?run=a&...     one page of the selection (Query.from_params) and its size
    GET /api/row/ID?run=a       one row with its meta, parent, derived rows and duplicate cluster
    GET /api/export?run=a&...   the whole selection as JSONL (a download)
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

from dataforge.errors import DataforgeError
from dataforge.explore.query import Query, Run

STATIC = Path(__file__).parent / "static"


def create_app(out: str | Path, compare: str | Path | None = None) -> Starlette:
    runs = {"a": Run(out)}
    if compare is not None:
        runs["b"] = Run(compare)
    for run in runs.values():
        threading.Thread(target=run.warm, daemon=True, name=f"warm-{run.label}").start()

    def pick(request: Request) -> Run:
        key = request.query_params.get("run", "a") or "a"
        if key not in runs:
            raise DataforgeError(f"unknown run {key!r}; serving {sorted(runs)}")
        return runs[key]

    def index(request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    def list_runs(request: Request):
        return JSONResponse([{"key": k, "label": r.label, "out": str(r.out)} for k, r in runs.items()])

    def info(request: Request):
        return JSONResponse(pick(request).info())

    def rows(request: Request):
        run = pick(request)
        t0 = time.perf_counter()
        res = run.page(Query.from_params(request.query_params, run.score_cols))
        res["ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return JSONResponse(res)

    def row(request: Request):
        return JSONResponse(pick(request).row(request.path_params["id"], request.query_params.get("status", "")))

    def export(request: Request):
        run = pick(request)
        q = Query.from_params(request.query_params, run.score_cols)
        name = f"{run.label}-selection.jsonl".replace("/", "_")
        return StreamingResponse(run.export(q), media_type="application/x-ndjson",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def bad_request(request: Request, exc: Exception):
        return JSONResponse({"error": str(exc)}, status_code=400)

    routes = [Route("/", index), Route("/api/runs", list_runs), Route("/api/info", info),
              Route("/api/rows", rows), Route("/api/row/{id}", row), Route("/api/export", export)]
    app = Starlette(routes=routes, exception_handlers={DataforgeError: bad_request, ValueError: bad_request})
    app.state.runs = runs
    return app


def serve(out: str | Path, compare: str | Path | None = None, host: str = "127.0.0.1", port: int = 8765,
          announce=print) -> None:
    """Run the app with uvicorn until interrupted; prints the URL first (port 0 = any free port)."""
    import socket

    import uvicorn

    app = create_app(out, compare)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    announce(f"dataforge explore: http://{shown}:{port}/  (Ctrl+C to stop)")
    for run in app.state.runs.values():
        st = run.store
        announce(f"  {run.label}: {run.index.height:,} rows; cache {st.folder} "
                 f"{'built' if st.built else 'reused'} in {st.seconds:.1f}s")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
