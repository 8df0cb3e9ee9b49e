"""Where the searched prompt lives: a prompt file and an entry inside it.

    entry ""               the file's root mapping (respond.yaml, rewrite.yaml)
    entry "prompts.rubric" the item named `rubric` of the `prompts` list (judge files)
    entry "in_depth"       a section mapping (evol_instruct.yaml)

The entry's text is its `user` key (or `prompt`, as generator sections name it) and its
optional `system`. Results are written to a NEW file; the original is never touched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import yaml

from dataforge import rulefiles
from dataforge.errors import ConfigError
from dataforge.promptsearch.candidate import Candidate


@dataclass
class Target:
    path: Path
    entry: str
    doc: dict
    text_key: str  # "user" or "prompt"

    @property
    def kind(self) -> str:
        """judge files carry a score scale; everything else generates text."""
        return "judge" if isinstance(self.doc.get("scale"), dict) and "prompts" in self.doc else "generator"

    def original(self) -> Candidate:
        node = locate(self.doc, self.entry, str(self.path))
        return Candidate(user=str(node[self.text_key]), system=node.get("system"))

    def node_sampling(self) -> dict:
        node = locate(self.doc, self.entry, str(self.path))
        return dict(node.get("sampling") or self.doc.get("sampling") or {})


def load(prompt_file: str, entry: str = "") -> Target:
    path = rulefiles.resolve(prompt_file, what="prompt file", prefer="prompts")
    doc = copy.deepcopy(rulefiles.load_yaml(path))
    node = locate(doc, entry, str(path))
    key = "user" if "user" in node else "prompt" if "prompt" in node else None
    if key is None or not isinstance(node[key], str):
        hint = ""
        if isinstance(node.get("prompts"), list):
            hint = "; pick one prompt with entry: prompts.NAME (have " + ", ".join(
                str(x.get("name")) for x in node["prompts"] if isinstance(x, dict)) + ")"
        else:
            subs = [k for k, v in node.items() if isinstance(v, dict) and ("user" in v or "prompt" in v)]
            hint = f"; entries with prompt text: {subs}" if subs else ""
        raise ConfigError(f"{path}: entry '{entry or '(root)'}' has no `user` or `prompt` text to search{hint}")
    return Target(path=path, entry=entry, doc=doc, text_key=key)


def locate(doc: dict, entry: str, where: str) -> dict:
    node = doc
    for part in [p for p in (entry or "").split(".") if p]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            hit = [x for x in node if isinstance(x, dict) and x.get("name") == part]
            if not hit:
                names = [x.get("name") for x in node if isinstance(x, dict)]
                raise ConfigError(f"{where}: no entry named '{part}' in the list (have {names})")
            node = hit[0]
        else:
            keys = list(node) if isinstance(node, dict) else []
            raise ConfigError(f"{where}: entry '{entry}': no key '{part}' (have {keys})")
    if not isinstance(node, dict):
        raise ConfigError(f"{where}: entry '{entry or '(root)'}' is not a mapping with prompt text")
    return node


def _set_text(node: dict, key: str, cand: Candidate) -> None:
    node[key] = cand.user
    if cand.system:
        node["system"] = cand.system
    else:
        node.pop("system", None)


def result_doc(target: Target, ranked: list[Candidate], weights: list[float], fitness: list[float],
               provenance: dict) -> dict:
    """The new prompt file: judges get the top-k prompts and their fitted weights; generators
    get the best prompt in place of the original and the top-k as a weighted mixture."""
    doc = copy.deepcopy(target.doc)
    members = []
    base = target.entry.split(".")[-1] if target.entry else "prompt"
    for i, (c, w, f) in enumerate(zip(ranked, weights, fitness), 1):
        members.append({"name": f"{base}_s{i}", "weight": round(float(w), 6), "fitness": round(float(f), 6),
                        "id": c.id})
    if target.kind == "judge":
        node = locate(doc, target.entry, str(target.path))
        items = []
        for m, c in zip(members, ranked):
            item = {k: v for k, v in node.items() if k not in ("name", "user", "system")}
            item["name"] = m["name"]
            _set_text(item, "user", c)
            items.append(item)
        doc["prompts"] = items
        doc["ensemble"] = {"how": "weighted", "weights": {m["name"]: m["weight"] for m in members},
                           "members": members, "search": provenance}
    else:
        node = locate(doc, target.entry, str(target.path))
        _set_text(node, target.text_key, ranked[0])
        doc["ensemble"] = {"how": "weighted_mixture", "entry": target.entry,
                           "members": [dict(m, system=c.system, **{target.text_key: c.user})
                                       for m, c in zip(members, ranked)],
                           "search": provenance}
    return doc


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, s: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)


_Dumper.add_representer(str, _str)
# rulefiles.load_yaml gives dict subclasses (they remember line numbers): write them as mappings
_Dumper.add_multi_representer(dict, _Dumper.represent_dict)
_Dumper.add_multi_representer(list, _Dumper.represent_list)


def dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
