"""Compile the report's page template in the background while rows are processed.

The page's Jinja template takes about 0.3 s to compile, and the report needs it only at the
end of a run; the stages before it spend their time in Polars and Arrow, which release the
GIL, so the compile overlaps with them instead of adding to the run's time. The report waits
for this compile (report.html.page_template's lock) if it is not done yet. (It once imported
matplotlib here too; the figures are now written as SVG text, report/svgplot.py.)
"""
from __future__ import annotations

import threading

_started = False


def _compile() -> None:
    try:
        from dataforge.report import html

        html.page_template()
    except Exception:  # noqa: BLE001 - the report's own compile will raise it where it matters
        pass


def start() -> None:
    """Start the background compile once per process (a no-op afterwards)."""
    global _started
    if not _started:
        _started = True
        threading.Thread(target=_compile, name="dataforge-report-template", daemon=True).start()
