"""`dataforge` command line. Each subcommand lives in dataforge/commands/<name>.py with
`register(subparsers)` adding its parser and setting `func`. Errors print one clear line."""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from dataforge.errors import DataforgeError


def build_parser() -> argparse.ArgumentParser:
    import dataforge.commands as pkg

    parser = argparse.ArgumentParser(
        prog="dataforge",
        description="Build instruction-tuning datasets: convert, generate, augment, clean, score, "
                    "select, report and publish.")
    parser.add_argument("--version", action="version", version=f"dataforge {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"dataforge.commands.{mod.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DataforgeError as e:
        print(f"dataforge: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("dataforge: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as e:  # never a bare traceback unless asked for
        if os.environ.get("DATAFORGE_DEBUG"):
            raise
        print(f"dataforge: internal error: {type(e).__name__}: {e} (set DATAFORGE_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


def _version() -> str:
    from dataforge import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
