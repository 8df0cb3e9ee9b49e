"""Build the compact English synonym table `rules/synonyms/en.tsv.gz` from WordNet 3.0.

Run once, by a maintainer, where WordNet's database files exist:

    apt-get install -y wordnet-base      # Debian/Ubuntu: files in /usr/share/wordnet
    python scripts/build_synonyms.py [--wordnet /usr/share/wordnet] [--out rules/synonyms/en.tsv.gz]

The table is what `eda` uses for synonym replacement and insertion, so nothing at run
time needs WordNet, nltk or a download. Each line is `lemma<TAB>syn1|syn2|...`, lemmas
lower-case, synonyms ordered by WordNet sense frequency. To keep it small and the
synonyms close to the everyday meaning, only a lemma's most frequent senses are used
(its tagged senses, at most --senses per part of speech); proper nouns (capitalised
words), numbers and the stop words in rules/synonyms/stopwords.txt are left out.
The output is deterministic (sorted, gzip mtime 0), so rebuilding gives the same bytes.
"""
from __future__ import annotations

import argparse
import gzip
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POS = ("noun", "verb", "adj", "adv")
WORD = re.compile(r"^[a-z][a-z'-]*( [a-z][a-z'-]*){0,2}$")  # lower-case, at most 3 words


def load_stopwords(path: Path) -> set[str]:
    return {w.strip() for w in path.read_text().splitlines() if w.strip() and not w.startswith("#")}


def read_synsets(wn: Path, pos: str) -> dict[int, list[str]]:
    """offset -> words of the synset (underscores become spaces, adjective markers dropped)."""
    out: dict[int, list[str]] = {}
    with open(wn / f"data.{pos}", encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            parts = line.split(" ")
            offset, n = int(parts[0]), int(parts[3], 16)
            words = [re.sub(r"\([a-z]+\)$", "", parts[4 + 2 * i]).replace("_", " ") for i in range(n)]
            out[offset] = words
    return out


def read_index(wn: Path, pos: str) -> list[tuple[str, list[int], int]]:
    """(lemma, synset offsets by frequency, number of tagged senses) per index line."""
    rows = []
    with open(wn / f"index.{pos}", encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split()
            lemma, synset_cnt, p_cnt = parts[0], int(parts[2]), int(parts[3])
            tagged = int(parts[5 + p_cnt])
            offsets = [int(x) for x in parts[6 + p_cnt: 6 + p_cnt + synset_cnt]]
            rows.append((lemma.replace("_", " "), offsets, tagged))
    return rows


def build(wn: Path, stopwords: set[str], senses: int, max_synonyms: int) -> dict[str, list[str]]:
    # lemma -> [(tagged senses, offsets, synsets of that POS)], one entry per part of speech
    entries: dict[str, list[tuple[int, list[int], dict[int, list[str]]]]] = {}
    for pos in POS:
        synsets = read_synsets(wn, pos)
        for lemma, offsets, tagged in read_index(wn, pos):
            if " " in lemma or not WORD.match(lemma) or lemma in stopwords:
                continue  # keys are single words: the augmenters look tokens up
            entries.setdefault(lemma, []).append((tagged, offsets, synsets))
    table: dict[str, list[str]] = {}
    for lemma, per_pos in entries.items():
        # the part of speech seen most in the tagged corpus first ("give": verb before noun);
        # senses never seen in the corpus only when the lemma has no tagged sense at all
        per_pos.sort(key=lambda e: -e[0])
        any_tagged = per_pos[0][0] > 0
        syns: list[str] = []
        for tagged, offsets, synsets in per_pos:
            if any_tagged and not tagged:
                continue
            for off in offsets[: max(1, min(tagged, senses))]:
                for w in synsets[off]:
                    if w != lemma and WORD.match(w) and w not in stopwords and w not in syns:
                        syns.append(w)
        if syns:
            table[lemma] = syns[:max_synonyms]
    return dict(sorted(table.items()))


def write(table: dict[str, list[str]], out: Path) -> None:
    text = "".join(f"{k}\t{'|'.join(v)}\n" for k, v in table.items())
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    out.write_bytes(buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    ap.add_argument("--out", type=Path, default=ROOT / "rules/synonyms/en.tsv.gz")
    ap.add_argument("--stopwords", type=Path, default=ROOT / "rules/synonyms/stopwords.txt")
    ap.add_argument("--senses", type=int, default=2, help="most frequent senses per lemma and POS")
    ap.add_argument("--max-synonyms", type=int, default=12)
    a = ap.parse_args()
    if not (a.wordnet / "data.noun").exists():
        raise SystemExit(f"no WordNet 3.0 database in {a.wordnet}: apt-get install wordnet-base, or pass --wordnet DIR")
    table = build(a.wordnet, load_stopwords(a.stopwords), a.senses, a.max_synonyms)
    write(table, a.out)
    print(f"{a.out}: {len(table)} lemmas, {sum(map(len, table.values()))} synonyms, {a.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
