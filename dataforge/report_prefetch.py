"""Import the report's plotting libraries in the background while rows are processed.

matplotlib takes most of a second to import, and the report needs it only at the end of a
run; the stages before it spend their time in Polars and Arrow, which release the GIL, so the
import overlaps with them instead of adding to the run's time. The report's own import of the
same modules waits for this one (Python's per-module import locks) if it is not done yet.
The page's Jinja template is compiled here too.
"""
from __future__ import annotations

import threading

_started = False


def _imports() -> None:
    try:
        import matplotlib.backends.backend_svg  # noqa: F401
        import matplotlib.figure  # noqa: F401

        from dataforge.report import html
        html.page_template()  # compiling the page's template is another 0.3 s of pure Python
    except Exception:  # noqa: BLE001 - the report's own import will raise it where it matters
        pass


def start() -> None:
    """Start the background import once per process (a no-op afterwards)."""
    global _started
    if not _started:
        _started = True
        threading.Thread(target=_imports, name="dataforge-report-imports", daemon=True).start()
