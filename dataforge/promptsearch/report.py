"""A small self-contained HTML page: fitness by generation (inline SVG), the top prompts with
their weights, and the best prompt's diff against the original. No scripts, no external files."""
from __future__ import annotations

import difflib
from html import escape

from dataforge.promptsearch.candidate import Candidate


def _chart(gens: list[dict], w: int = 560, h: int = 220, pad: int = 36) -> str:
    if not gens:
        return "<p>No generation was completed.</p>"
    xs = [g["generation"] for g in gens]
    series = {"best": [g["best"] for g in gens], "mean": [g["mean"] for g in gens]}
    lo = min(min(v) for v in series.values())
    hi = max(max(v) for v in series.values())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    xmax = max(max(xs), 1)

    def pt(x, y):
        return f"{pad + (w - 2 * pad) * x / xmax:.1f},{h - pad - (h - 2 * pad) * (y - lo) / (hi - lo):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="fitness by generation">',
             f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#888"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#888"/>',
             f'<text x="{pad}" y="{pad - 8}" font-size="11">{hi:.3f}</text>',
             f'<text x="{pad}" y="{h - pad + 14}" font-size="11">{lo:.3f}</text>',
             f'<text x="{w - pad}" y="{h - pad + 14}" font-size="11" text-anchor="end">generation {xmax}</text>']
    for (name, ys), color in zip(series.items(), ("#1b7f3b", "#3366cc")):
        pts = " ".join(pt(x, y) for x, y in zip(xs, ys))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
        parts += [f'<circle cx="{pt(x, y).split(",")[0]}" cy="{pt(x, y).split(",")[1]}" r="3" fill="{color}"/>'
                  for x, y in zip(xs, ys)]
        parts.append(f'<text x="{w - pad}" y="{pad + (0 if name == "best" else 14)}" font-size="11" '
                     f'text-anchor="end" fill="{color}">{name}</text>')
    return "".join(parts) + "</svg>"


def _text(c: Candidate) -> str:
    return (f"[system]\n{c.system}\n\n[user]\n" if c.system else "") + c.user


def _diff(a: Candidate, b: Candidate) -> str:
    rows = []
    for line in difflib.unified_diff(_text(a).splitlines(), _text(b).splitlines(), "original", "best",
                                     lineterm="", n=3):
        cls = "add" if line.startswith("+") and not line.startswith("+++") else \
              "del" if line.startswith("-") and not line.startswith("---") else ""
        rows.append(f'<span class="{cls}">{escape(line) or " "}</span>')
    return "".join(rows) or "(the best prompt is the original)"


def render(records: list[dict], original: Candidate, result) -> str:
    gens = [r for r in records if r["event"] == "generation"]
    start = next((r for r in records if r["event"] == "start"), {})
    n_cand = sum(r["event"] == "candidate" for r in records)
    n_rej = sum(r["event"] == "rejected" for r in records)
    top = "".join(
        f"<tr><td>{i}</td><td><code>{c.id}</code></td><td>{escape(c.op)}</td><td>{f:.4f}</td><td>{w:.3f}</td>"
        f"<td><pre>{escape(_text(c))}</pre></td></tr>"
        for i, (c, f, w) in enumerate(zip(result.ranked, result.fitness, result.weights), 1))
    ens = ""
    if result.ensemble_dev is not None:
        ens = (f"<p>Ensemble of the top {len(result.ranked)} on the dev set: fitted weights "
               f"{result.ensemble_dev:.4f}, unweighted mean {result.mean_dev:.4f}.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prompt search {escape(result.search_id)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .6em; margin: 0; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #ddd; padding: 4px; vertical-align: top; }}
pre.diff span {{ display: block; }} .add {{ background: #e6ffec; }} .del {{ background: #ffebe9; }}
</style></head><body>
<h1>Prompt search</h1>
<p><b>{escape(str(start.get("prompt_file", "")))}</b> entry <code>{escape(start.get("entry") or "(root)")}</code>,
{escape(str(start.get("kind", "")))} · search <code>{escape(result.search_id)}</code> · dev set
{start.get("dev_rows", "?")} rows (hash <code>{escape(str(start.get("dev_hash", "")))}</code>)</p>
<p>Fitness: {escape(", ".join(f"{k} {v}" for k, v in (start.get("fitness") or {}).items()))}</p>
<p>Original fitness <b>{result.original_fitness:.4f}</b> → best <b>{result.best_fitness:.4f}</b>.
{n_cand} candidates evaluated, {n_rej} proposals rejected, {result.llm_calls} LLM calls.
Stopped: <b>{escape(result.stop_reason)}</b> — {escape(result.stop_detail)}</p>
<h2>Fitness by generation</h2>
{_chart(gens)}
<h2>Best prompt against the original</h2>
<pre class="diff">{_diff(original, result.best)}</pre>
<h2>Top prompts and ensemble weights</h2>
{ens}
<table><tr><th>#</th><th>id</th><th>made by</th><th>fitness</th><th>weight</th><th>prompt</th></tr>{top}</table>
</body></html>
"""
