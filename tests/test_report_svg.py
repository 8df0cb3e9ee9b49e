"""The report's SVG figures written without matplotlib (dataforge/report/svgplot.py): valid XML,
ticks at nice numbers inside the data range, one filled outline per run and panel whose
heights are the histogram's counts, and labels escaped."""
from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from dataforge.report import plots, svgplot

NS = {"s": "http://www.w3.org/2000/svg"}


class Run:
    def __init__(self, label, values, summary=None):
        self.label, self.values, self.summary = label, values, summary or {}


def _svg(uri: str) -> ET.Element:
    assert uri.startswith("data:image/svg+xml;base64,")
    return ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))


@pytest.mark.parametrize("lo,hi", [(0, 1), (0, 0.97), (3, 287), (0, 3400), (-2.5, 7.1), (0.8, 1.0), (0, 2_600_000)])
def test_nice_ticks_are_round_and_inside(lo, hi):
    t = svgplot.nice_ticks(lo, hi)
    assert 3 <= len(t) <= 9
    assert t[0] >= lo - 1e-9 and t[-1] <= hi + 1e-9
    step = np.diff(t)
    assert np.allclose(step, step[0])
    mant = step[0] / 10 ** np.floor(np.log10(step[0]))
    assert any(np.isclose(mant, m) for m in (1, 2, 2.5, 5))
    labels = [svgplot.tick_label(v, step[0]) for v in t]
    assert len(set(labels)) == len(labels), labels  # no two ticks read the same


def test_histogram_outline_heights_are_the_counts():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 100, 5000), rng.integers(0, 50, 800)
    drawn: dict = {}
    root = _svg(plots.histograms([Run("a <A>", {"x": a, "y": a * 0.01})], ["x", "y"], ["words & more", "score"],
                                 "words", drawn=drawn))
    polys = root.findall(".//s:polygon", NS)
    assert len(polys) == 2  # one run, two panels
    pts = np.array([[float(v) for v in p.split(",")] for p in polys[0].get("points").split()])
    counts = np.array(drawn["words & more"]["counts"]["a <A>"])
    assert counts.sum() == a.size
    # the outline's bin tops (every other point after the start) are proportional to the counts
    base = pts[0, 1]
    tops = base - pts[1:-1:2, 1]
    assert np.allclose(tops / tops.max(), counts / counts.max(), atol=1e-3)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "words & more" in texts and "rows" in texts
    # two runs: shares, a legend with both labels
    root2 = _svg(plots.histograms([Run("A", {"x": a}), Run("B", {"x": b})], ["x"], ["x"], "words"))
    assert len(root2.findall(".//s:polygon", NS)) == 2
    texts2 = [t.text for t in root2.iter("{http://www.w3.org/2000/svg}text")]
    assert {"A", "B", "share"} <= set(texts2)


def test_bars_boxes_and_funnel_are_valid_svg():
    summary = {"funnel": [{"name": "read:x", "rows_out": 100, "rows_rejected": 0},
                          {"name": "rule_filter", "rows_out": 90, "rows_rejected": 10}],
               "coverage": {"task": {"qa": 60, "summarization <long>": 30}}}
    run = Run("r", {}, summary)
    funnel = _svg(plots.funnel(run))
    rects = [r for r in funnel.findall(".//s:rect", NS) if r.get("fill") == "#c44e52" and r.get("width")]
    assert rects  # the rejected part is drawn
    bars = _svg(plots.bars([run], lambda r: r.summary["coverage"]["task"], "rows by task"))
    assert "summarization <long>" in [t.text for t in bars.iter("{http://www.w3.org/2000/svg}text")]
    box = {"qa": {"n": 5, "p5": 0.1, "p25": 0.2, "p50": 0.3, "p75": 0.5, "p95": 0.9, "mean": 0.35}}
    boxes = _svg(plots.boxes([run, Run("s", {})], lambda r: box, "score per task", "score"))
    assert len(boxes.findall(".//s:circle", NS)) == 2  # a mean per run
    assert plots.bars([run], lambda r: {}, "empty") is None
    vertical = _svg(plots.bars([run], lambda r: {"2": 4, "3": 1}, "clusters", "cluster size", horizontal=False))
    assert "cluster size" in [t.text for t in vertical.iter("{http://www.w3.org/2000/svg}text")]


def test_long_category_labels_are_cut_with_their_full_text_kept():
    name = "a_very_long_fused_stage_label_" * 6
    root = _svg(plots.bars([Run("r", {})], lambda r: {name: 3, "b": 1}, "rows"))
    labels = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.startswith("a_very")]
    assert labels and labels[0].text.endswith("…") and labels[0].find("s:title", NS).text == name


def test_sunburst_wedges_follow_the_tree():
    tree = [{"verb": "write", "count": 6, "nouns": [{"noun": "story", "count": 4}]},
            {"verb": "list", "count": 2, "nouns": [{"noun": "ideas", "count": 2}]}]
    root = _svg(plots.sunburst(Run("r", {}, {"verb_noun": {"tree": tree}})))
    paths = root.findall(".//s:path", NS)
    # 2 verbs + 2 named nouns + write's other nouns (6 - 4)
    assert len(paths) == 5
    assert sorted(p.find("s:title", NS).text for p in paths) == sorted(
        ["write 6", "list 2", "story 4", "ideas 2", " 2"])
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"write", "list", "story", "ideas"} <= texts
    # one verb only: its ring is whole (two half arcs in one path), not an empty arc
    whole = _svg(plots.sunburst(Run("r", {}, {"verb_noun": {"tree": tree[1:]}})))
    assert whole.findall(".//s:path", NS)[0].get("d").count("A") == 4


def test_the_report_needs_no_plotting_library(tmp_path):
    """Every figure is SVG text: a report builds with matplotlib unimportable."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        sys.modules["matplotlib"] = None  # any import of it raises ImportError
        from tests.support.planted_run import build_planted_run
        out = build_planted_run(__import__("pathlib").Path({str(tmp_path / "run")!r}), limit=40)
        html = (out / "report" / "index.html").read_text()
        assert html.count("data:image/svg+xml") >= 8, html.count("data:image/svg+xml")
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-3000:]
