"""dataforge publish OUT --repo-id USER/NAME [--private] [--dry-run]: dataset card + upload to the Hub."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("publish", help="write the dataset card and upload an output folder to the Hugging Face Hub")
    p.add_argument("out", help="output folder of `dataforge run`")
    p.add_argument("--repo-id", required=True, help="USER/NAME of the dataset repository")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--dry-run", action="store_true", help="write the card and print the upload plan; upload nothing")
    p.add_argument("--license", help="licence id for the card, overriding the one derived from the sources")
    p.add_argument("--licenses", metavar="FILE", help="your licence rules (source/path rules declaring your sources), tried before rules/licenses.yaml")
    p.add_argument("--include-rejects", action="store_true", help="also upload rejects/*.parquet")
    p.add_argument("--stage", metavar="DIR", help="also copy the planned files into DIR (the repo as it will look)")
    p.add_argument("-m", "--message", default="Upload dataset with dataforge", help="commit message")
    p.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataforge.errors import ConfigError
    from dataforge.io import atomic, hub

    if args.repo_id.count("/") != 1 or not all(args.repo_id.split("/")):
        raise ConfigError(f"--repo-id must look like USER/NAME, got {args.repo_id!r}")
    out = Path(args.out)
    if not (out / "report" / "index.html").is_file() and (out / "manifest.json").is_file():
        from dataforge.report import build_report

        build_report(out)
    files = hub.plan(out, include_rejects=args.include_rejects)  # checks the folder before writing
    card = hub.build_card(out, args.repo_id, license=args.license, licenses_file=args.licenses)
    with atomic.atomic_path(out / "README.md") as tmp:
        tmp.write_text(card.text, encoding="utf-8")
    stale = out / hub.LICENSE_FILE
    if hub.LICENSE_FILE not in card.files and stale.is_file():
        stale.unlink()  # an earlier card linked it; this one does not
    for name, text in card.files.items():
        with atomic.atomic_path(out / name) as tmp:
            tmp.write_text(text, encoding="utf-8")
    files = hub.plan(out, include_rejects=args.include_rejects)
    for w in card.warnings:
        print(f"warning: {w}", file=sys.stderr)
    visibility = "private" if args.private else "public"
    print(f"{'dry run: would upload' if args.dry_run else 'uploading'} {len(files)} file(s), "
          f"{_size(sum(f.bytes for f in files))}, to dataset {args.repo_id} ({visibility})")
    print(f"license: {card.header['license']}")
    for f in files:
        sha = f"  sha256 {f.sha256[:12]}" if f.sha256 else ""
        print(f"  {f.repo_path:<48} {_size(f.bytes):>10}  {f.role}{sha}")
    owned = hub.managed_prefixes(files)
    print(f"remote files under {', '.join(owned)} that are not in this plan will be deleted")
    if args.stage:
        print(f"staged: {hub.stage(files, args.stage)}")
    if args.dry_run:
        return 0
    url = hub.upload(files, args.repo_id, token=hub.resolve_token(), private=args.private, message=args.message,
                     endpoint=args.endpoint)
    print(f"done: {url}")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
