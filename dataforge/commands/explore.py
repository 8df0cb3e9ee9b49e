"""dataforge explore OUT [--compare OUT_B] [--host 127.0.0.1] [--port 8765]: browse a run in a local web app."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("explore", help="browse an output folder's kept and rejected rows in a local web app")
    p.add_argument("out", help="output folder of `dataforge run`")
    p.add_argument("--compare", metavar="OUT_B", help="a second output folder to switch to")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge.errors import ConfigError

    try:
        from dataforge.explore.app import serve
    except ImportError as e:
        raise ConfigError(f"`dataforge explore` needs its web extra: pip install 'dataforge[explore]' ({e})") from None
    serve(args.out, args.compare, host=args.host, port=args.port, announce=lambda s: print(s, flush=True))
    return 0
