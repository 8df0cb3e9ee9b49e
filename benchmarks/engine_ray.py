"""Ray engine scaling: the engine benchmark's pipeline (+ exact dedup) on 1 and 2 Ray workers.

Side by side, each in a fresh process on the same generated rows (benchmarks/engine.py's
generator): the local engine, the Ray engine on a local cluster of 1 CPU, and of 2 CPUs.
Prints seconds (Ray start-up excluded, shown apart), rows/s, the 2-vs-1 worker speed-up
and the Ray/local ratio, and checks that all three wrote the same shards (sha256).

    .venv/bin/python benchmarks/engine_ray.py [--rows 400000] [--batch 50000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pipeline(batch: int):
    from dataforge import Pipeline, op
    from dataforge.pipeline import OutputSpec

    return Pipeline([op("normalize"), op("length", field="output", min=20),
                     op("length", field="instruction", unit="words", min=3, max=100),
                     op("dedup_exact", fields=["instruction", "output"])],
                    batch_size=batch, output=OutputSpec(report=False))


def child(engine: str, cpus: int, src: str, batch: int) -> dict:
    init = 0.0
    if engine == "ray":
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        init = time.perf_counter() - t
    out = tempfile.mkdtemp()
    t = time.perf_counter()
    res = pipeline(batch).run(src, out, engine=engine)
    secs = time.perf_counter() - t
    m = res.manifest
    return {"engine": engine, "cpus": cpus, "seconds": round(secs, 2), "init": round(init, 2),
            "rows_out": m["totals"]["rows_out"], "sha": [s["sha256"] for s in m["shards"]]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        engine, cpus, src, batch = a.child
        print(json.dumps(child(engine, int(cpus), src, int(batch))))
        return
    sys.path.insert(0, str(HERE))
    from engine import generate  # the lead's engine benchmark data

    src = Path(tempfile.mkdtemp()) / f"gen-{a.rows}.parquet"
    generate(src, a.rows)
    runs = {}
    print(f"{a.rows} rows, batch {a.batch}: normalize -> length -> length -> dedup_exact")
    print(f"{'engine':>12} {'seconds':>8} {'rows/s':>10} {'ray init s':>10}")
    for engine, cpus in (("local", 0), ("ray", 1), ("ray", 2)):
        p = subprocess.run([sys.executable, __file__, "--child", engine, str(cpus), str(src), str(a.batch)],
                           capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"{engine}/{cpus} failed:\n{p.stderr[-3000:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        runs[(engine, cpus)] = r
        label = "local" if engine == "local" else f"ray x{cpus}"
        print(f"{label:>12} {r['seconds']:>8} {a.rows / r['seconds']:>10.0f} {r['init']:>10}")
    one, two, loc = runs[("ray", 1)], runs[("ray", 2)], runs[("local", 0)]
    print(f"speed-up ray 2 workers vs 1: x{one['seconds'] / two['seconds']:.2f}")
    print(f"ratio time ray(2)/local: {two['seconds'] / loc['seconds']:.2f}")
    same = loc["sha"] == one["sha"] == two["sha"]
    print(f"same shards (sha256) on all three: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
