"""dataforge report OUT [--compare OUT_B] [-o HTML]: (re)build the quality report of an output folder."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("report", help="build the HTML quality report of an output folder (or compare two)")
    p.add_argument("out", help="output folder of `dataforge run`")
    p.add_argument("--compare", metavar="OUT_B", help="a second output folder to show side by side")
    p.add_argument("-o", "--html", help="where to write the HTML (default OUT/report/index.html, "
                                        "or OUT/report/compare.html with --compare)")
    p.add_argument("--tokenizer", help="tokenizer for token counts: a local folder or a hub id "
                                       "(default: the run's output.tokenizer, else the offline MiniLM WordPiece)")
    p.add_argument("--warn-share", type=float, help="warn when one rule removes more than this share of one "
                                                    "source or task (default: the run's setting, else 0.1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge.report import build_report, data_path

    path = build_report(args.out, compare=args.compare, html_path=args.html,
                        tokenizer=args.tokenizer, warn_share=args.warn_share)
    print(f"report: {path}")
    print(f"data:   {data_path(args.out, args.html, args.compare)}")
    return 0
