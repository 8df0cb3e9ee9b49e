"""dataforge templates [FAMILY] [--show ID]: template families, their templates and the prompt types."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("templates", help="list template families, templates and prompt types")
    p.add_argument("family", nargs="?", help="a family name or a .yaml file: list its templates in full")
    p.add_argument("--show", metavar="ID", help="print one template's instruction/input/output source")
    p.set_defaults(func=run)


def describe(family: str | None = None, show: str | None = None) -> str:
    from dataforge.templates import prompts
    from dataforge.templates.spec import family_names, load_family

    names = [family] if family else family_names()
    lines: list[str] = []
    for name in names:
        fam = load_family(name)
        if show:
            t = fam.get(show)
            lines += [f"{t.key} ({t.direction}, {'plain' if t.is_plain else 'jinja'})"]
            for piece, src in t.pieces.items():
                lines += [f"  {piece}: {src!r}"]
            continue
        labels = ", ".join(f"{k}={v}" for k, v in (fam.labels or {}).items())
        lines += [f"{fam.name:16s} task={fam.task} dataset={fam.dataset} lang={fam.lang} "
                  f"select={fam.select}" + (f" labels: {labels}" if labels else "")]
        if fam.description:
            lines += [f"    {fam.description}"]
        lines += [f"    fields: {', '.join(f.name + ('?' if f.optional else '') + '<-' + '|'.join((f.column, *f.aliases)) for f in fam.fields.values())}"]
        for t in fam.all_templates():
            flags = [t.direction, "plain" if t.is_plain else "jinja"]
            flags += [f"options {t.options}"] if t.direction == "forward" else []
            if t.original_task:
                flags.append("original task")
            if t.labels:
                flags.append("labels: " + ", ".join(t.labels.values()))
            lines.append(f"    {t.id:28s} {'; '.join(flags)}")
        if fam.formats:
            lines += [f"    output formats: {', '.join(fam.formats)}"]
        lines.append("")
    if not family:
        w = prompts.wording()
        lines += ["prompt types (convert prompt_types: {name: weight}):"]
        lines += [f"    {p:10s} {w.describe(p)}" for p in prompts.PROMPT_TYPES]
        lines += ["modifiers: options (template|shown|hidden|p), output_format (p; "
                  + ", ".join(prompts.FORMATS) + "), system (p)"]
    return "\n".join(lines).rstrip()


def run(args) -> int:
    print(describe(args.family, args.show))
    return 0
