"""Where dataforge finds its declarative knowledge (templates, prompts, rule lists).

`rules/` sits beside the package in a checkout (installed editable, as `make` does);
DATAFORGE_RULES points elsewhere, e.g. at a copy of your own rules.
"""
from __future__ import annotations

import os
from pathlib import Path

RULES = Path(os.environ.get("DATAFORGE_RULES") or Path(__file__).resolve().parents[1] / "rules")
