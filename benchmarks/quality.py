"""Quality judgments on the labelled evaluation set (docs/quality.md): AUROC per score and
defect, filter false-positive / catch rates per task, dedup precision / recall.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/quality.py [--json out/quality.json]
"""
import sys

from dataforge.evaluation.harness import main

if __name__ == "__main__":
    sys.exit(main())
