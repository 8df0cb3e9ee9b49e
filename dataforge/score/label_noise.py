"""Wrong labels found by the rows themselves (confident learning, as cleanlab does).

A wrong label is still a valid label, so no per-row rule sees it. What sees it is the rest
of the data: within one source and task, a classifier trained on the *other* rows (k-fold,
out of fold) predicts each row's label from its text (the input that is classified, plus any
rationale the response gives before its answer). The score of a row is the probability the
classifier gives to the label the row carries, renormalised over the labels its template
uses (templates verbalise labels differently: "positive" / "thumbs up" / "Five stars").

The classifier is multinomial logistic regression (scikit-learn) over TF-IDF word uni- and
bigrams of the text, next to its sentence embedding when one is given (the run's embedding
model): the words carry a dataset's own wording, the embedding what a few hundred rows are
too few to learn. Measured on the quality evaluation set (docs/quality.md): embeddings add
most for sentiment; NLI labels are only learnable from a rationale. Groups too small to learn from
(`min_rows`), and labels seen in fewer than `min_label_rows` rows, get no score (null).
"""
from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from dataforge import rand
from dataforge.score import answers as A
from dataforge.score.rules import load_yaml


def label_head(ans: pl.Expr, short_words: int) -> pl.Expr:
    """The label of a final answer: the whole answer when short, else its head before the first
    '.', ':' or ';' ("No. The boy can not ..." -> "no"; "Five stars: the review ..." -> "five stars")."""
    a = A._norm(ans)
    head = A._norm(ans.fill_null("").str.extract(r"^\s*([^.:;\n]{1,60}?)\s*[.:;\n]", 1))
    words = a.str.count_matches(r"\S+")
    return (pl.when((words >= 1) & (words <= short_words)).then(a)
            .when(head.str.count_matches(r"\S+").is_between(1, short_words)).then(head)
            .otherwise(None))


def rationale(ans: pl.Expr) -> pl.Expr:
    """What the response says besides its label: the reasoning before "So the answer is",
    or the reason after "No." / "Five stars:"."""
    out = pl.col("output").fill_null("")
    before = out.str.extract(r"(?is)^(.*?)\s*(?:so\s+)?the\s+(?:final\s+)?answer\s+is\b", 1)
    after = ans.fill_null("").str.extract(r"^\s*[^.:;\n]{1,60}?\s*[.:;\n]\s*(.+)$", 1)
    return pl.concat_str([before.fill_null(""), after.fill_null("")], separator=" ").str.strip_chars()


def out_of_fold_probability(texts: list[str], labels: list[str], folds: np.ndarray,
                            allowed: list[list[str]], seed: int = 0,
                            vectors: np.ndarray | None = None) -> np.ndarray:
    """P(row's own label) from a classifier that never saw the row, renormalised over the
    row's `allowed` labels (its template's)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    def features(vec, rows: np.ndarray, fit: bool):
        t = [texts[i] for i in rows]
        x = vec.fit_transform(t) if fit else vec.transform(t)
        return hstack([x, csr_matrix(vectors[rows])]).tocsr() if vectors is not None else x

    classes = sorted(set(labels))
    y = np.array([classes.index(l) for l in labels])
    out = np.full(len(texts), np.nan)
    for f in np.unique(folds):
        test, train = folds == f, folds != f
        if len(set(y[train])) < 2:
            continue
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
        # saga: scipy's L-BFGS-B is ~20x slower on these small sparse problems
        clf = LogisticRegression(C=4.0, solver="saga", max_iter=300, tol=1e-3, random_state=seed)
        with warnings.catch_warnings():  # max_iter is a deliberate bound: a ranking needs no exact optimum
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(features(vec, np.flatnonzero(train), True), y[train])
        proba = np.zeros((int(test.sum()), len(classes)))
        proba[:, clf.classes_] = clf.predict_proba(features(vec, np.flatnonzero(test), False))
        for j, i in enumerate(np.flatnonzero(test)):
            idx = [classes.index(l) for l in allowed[i] if l in classes] or list(range(len(classes)))
            denom = proba[j, idx].sum()
            out[i] = proba[j, y[i]] / denom if denom > 0 else np.nan
    return out


def classified_text(ans: pl.Expr) -> pl.Expr:
    """The text a label is about (the input, else the instruction; without an appended
    "Options:" list) and the response's rationale."""
    inp = pl.col("input").fill_null("")
    text = pl.when(inp.str.strip_chars() != "").then(inp).otherwise(pl.col("instruction").fill_null(""))
    return pl.concat_str([text.str.replace(r"(?s)\n\s*Options:.*$", ""), rationale(ans)], separator="\n")


def label_rows_of(df: pl.DataFrame, label_rows: pl.Expr, short_words: int, min_label_rows: int) -> pl.DataFrame:
    """The rows a label model learns from: label rows with a label seen `min_label_rows` times
    in their source + task; columns __i (row position), __label, __text, __tpl."""
    ans = A.final_answer(load_yaml(A.ALIGNMENT))
    d = df.with_columns(
        pl.arange(0, pl.len()).alias("__i"), label_rows.alias("__lr"),
        label_head(ans, short_words).alias("__label"), classified_text(ans).alias("__text"),
        pl.col("meta").cast(pl.Utf8).fill_null("").str.extract(r'"template"\s*:\s*"([^"]+)"', 1)
        .fill_null("").alias("__tpl"))
    d = d.filter(pl.col("__lr") & pl.col("__label").is_not_null())
    return d.filter(pl.len().over("source", "task", "__label") >= min_label_rows)


def label_scores(df: pl.DataFrame, *, label_rows: pl.Expr, short_words: int = 4, folds: int = 5,
                 min_rows: int = 40, min_label_rows: int = 5, seed: int = 0,
                 embed=None) -> pl.Series:
    """score_label per row: P(own label | text) out of fold, per source + task; null where
    the row is not a label row or its group is too small. `embed(texts) -> vectors` adds
    sentence embeddings to the features."""
    d = label_rows_of(df, label_rows, short_words, min_label_rows)
    score = np.full(df.height, np.nan)
    for _, g in d.group_by("source", "task", maintain_order=True):
        if g.height < min_rows or g["__label"].n_unique() < 2:
            continue
        g = g.sort("id")  # the folds and the fit depend on the rows, not on their order
        tpl_labels = g.group_by("__tpl").agg(pl.col("__label").unique().sort())
        allowed_of = dict(zip(tpl_labels["__tpl"], tpl_labels["__label"].to_list()))
        fold = (rand.bits(rand.base(g["id"], seed), "label_folds") % np.uint64(folds)).astype(np.int64)
        vectors = np.asarray(embed(g["__text"].to_list()), dtype=np.float32) if embed is not None else None
        p = out_of_fold_probability(g["__text"].to_list(), g["__label"].to_list(), fold,
                                    [allowed_of[t] for t in g["__tpl"]], seed, vectors)
        score[g["__i"].to_numpy()] = p
    return pl.Series("score_label", score, dtype=pl.Float64).fill_nan(None)
