"""What counts as a word, for rules and scores that count or pick words.

Chinese and Japanese put no spaces between words: a run of non-space characters there is a
whole sentence. Each of their characters counts as a word when counting (a lenient lower
bound for a length rule), and pairs of them stand in for words when words are picked.
Thai, Lao, Khmer, Myanmar and Tibetan put no spaces between words either, and their words
are longer: every three letters (with the vowel and tone marks on them) count as a word,
about their mean word length, so "ประเทศไทยมีกี่จังหวัด" (five words) counts 6, not 1.
"""
import re

CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
SEA = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"  # scripts without spaces, not CJK
_SEA_WORD = rf"(?:[{SEA}&&\P{{M}}]\p{{M}}*){{1,3}}"
# one word per run of non-space characters, per CJK character, or per three letters of SEA
WORD_RE = rf"[{CJK}]|{_SEA_WORD}|[^\s{CJK}{SEA}]+"
# content-word candidates: 3+ letters of any script, numbers, a CJK pair or three SEA letters
TOKEN_RE = rf"[^\W\d_{CJK}{SEA}](?:[^\W\d_{CJK}{SEA}]|['-]){{2,}}|\d+|[{CJK}]{{1,2}}|{_SEA_WORD}"
# a quotation between paired marks: « », “ ”, „ “, ‚ ‘, 「 」, 『 』, or straight double quotes on
# one line (single straight quotes are apostrophes too often to pair); someone else's words,
# often in their own language (language ID and the garble measure read around them)
QUOTED_RE = r'«[^«»]*»|“[^“”]*”|„[^„“”]*[“”]|‚[^‚‘’]*[‘’]|「[^「」]*」|『[^『』]*』|"[^"\n]*"'
# kisses closing a message ("Thanks so much!! xx", "Love you! xoxo"): a sign-off, not a word
KISSES_RE = r"(?:x{1,4}|xo(?:xo)*)"
# a number as written: 300, 3.5, 1,000, 2024.01.05
NUMBER = r"\d+(?:[.,]\d+)*"
# a sentence's end: . ! ? before a space or the end, or a full-width mark (no space follows it)
SENTENCE_END_RE = r"[.!?]+(\s|$)|[。！？]+"
# word tokens for shingles and n-grams: runs of word characters, split as above in scripts
# without spaces (a Chinese paragraph was one or two "words", so near-duplicates that differ
# in a character shared no shingle); the same tokens as \w+ in every other script
SHINGLE_TOKEN_RE = rf"[{CJK}]|{_SEA_WORD}|[^\W{CJK}{SEA}]+"
# a line of three or more short numbered items under an optional label: an answer key
# ("**Answer key:** 1. went 2. wrote 3. ate"), words rather than sentences
_ENUM_ITEM = r"\d+[.)]\s*[^\s.!?;:]+(?:\s+[^\s.!?;:]+){0,2}"  # "3. ate", "2) wrote it"
INLINE_ENUM_RE = rf"^(?:\W{{0,3}}[\w ()/'&-]{{1,40}}:\W{{0,3}}\s*)?{_ENUM_ITEM}(?:[\s,;]+{_ENUM_ITEM}){{2,}}\W{{0,3}}$"


def mostly_latin(text, share: float = 0.5):
    """Whether at least `share` of a text's letters are Latin ones (a Series or an Expr of
    strings in, the same kind of booleans out); a text without letters counts as Latin, having
    no other script. English models, language ID and the complexity lexicon read these."""
    return text.str.count_matches(r"\p{Latin}") >= share * text.str.count_matches(r"\p{L}")


def unfenced(text: str) -> str:
    """`text` stripped, and without its code fence where one fence holds all of it
    ("```json\n{...}\n```" -> "{...}")."""
    body = text.strip()
    m = re.fullmatch(r"```[\w-]*\s*\n(.*?)\n?```", body, flags=re.S)
    return m.group(1).strip() if m else body
