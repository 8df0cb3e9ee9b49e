"""Vectorised MinHash signatures and LSH banding in datasketch's scheme.

datasketch 2.x ("affine32"): a 32-bit hash of each shingle is pre-mixed with the
MurmurHash3 finalizer, then permutation k maps h -> a_k * h + b_k (mod 2^32), a_k odd,
and the signature keeps the minimum per permutation. The permutation parameters are
drawn exactly as datasketch draws them (np.random.RandomState(seed)), so signatures
agree with `datasketch.MinHash(num_perm, seed)` given the same shingle hashes.

The difference is where the work happens: shingles are hashed by Polars over an
exploded word column and the permutations run as numpy array arithmetic over every
shingle of a chunk of documents at once, instead of one Python call per shingle.
Shingle hashes come from Polars' hash, which is stable within a Polars version (a
run), not across versions; dedup decisions only compare signatures within one run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import polars as pl

from dataforge.words import SHINGLE_TOKEN_RE

MAX32 = np.uint32(0xFFFFFFFF)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio multiplier to combine word hashes


def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) as datasketch.MinHash(num_perm, seed, scheme='affine32') draws them."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 32-bit finalizer (datasketch's pre-mix), on uint32 arrays."""
    h = h.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


@dataclass
class Shingles:
    """Flat 32-bit shingle hashes with doc ids (sorted by doc); docs with none are absent."""

    doc: np.ndarray  # int64, non-decreasing
    hash: np.ndarray  # uint32
    n_docs: int


def shingle_hashes(texts: pl.Series, ngram: int = 5, *, lowercase: bool = True,
                   seed: int = 0) -> Shingles:
    """Word n-gram shingles of each text as 32-bit hashes, computed column-wise. Words are
    runs of word characters, or single characters of Chinese and Japanese (dataforge/words.py).

    Texts shorter than `ngram` words give one shingle of all their words (as datatrove
    does); texts with no words give none and are never near-duplicates of anything.
    """
    t = texts.fill_null("")
    if lowercase:
        t = t.str.to_lowercase()
    words = (pl.DataFrame({"w": t.str.extract_all(SHINGLE_TOKEN_RE)}).with_row_index("doc")
             .explode("w").drop_nulls("w"))
    doc = words["doc"].to_numpy().astype(np.int64)
    if doc.size == 0:
        return Shingles(doc, np.zeros(0, np.uint32), len(texts))
    h = words["w"].hash(seed=seed).to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(doc)) + 1]
    lengths = np.diff(np.r_[starts, doc.size])
    pos = np.arange(doc.size) - np.repeat(starts, lengths)
    dlen = np.repeat(lengths, lengths)
    # a shingle hash is h[i] M^(n-1) + h[i+1] M^(n-2) + ... + h[i+n-1] (mod 2^64): computed
    # for every start over contiguous slices of the whole word array, then only the windows
    # that lie inside one document are kept
    g = np.zeros(doc.size, dtype=np.uint64)
    m = max(doc.size - ngram + 1, 0)
    g[:m] = h[:m]
    with np.errstate(over="ignore"):
        for k in range(1, ngram):
            g[:m] *= _MIX
            g[:m] += h[k:k + m]
    valid = pos + ngram <= dlen
    # a document shorter than `ngram` is one shingle of all its words, as if padded with zero
    # hashes (the next document's words never enter it)
    short = np.flatnonzero(lengths < ngram)
    if short.size:
        first = starts[short]
        sg = np.zeros(short.size, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(ngram):
                inside = k < lengths[short]
                sg *= _MIX
                sg[inside] += h[first[inside] + k]
        g[first] = sg
        valid[first] = True
    g = g[valid]
    g ^= g >> np.uint64(32)
    return Shingles(doc[valid], (g & np.uint64(0xFFFFFFFF)).astype(np.uint32), len(texts))


def signatures(sh: Shingles, num_perm: int = 128, seed: int = 1,
               threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(signatures uint32 [n_docs, num_perm], has_shingles bool [n_docs]).

    One pass per permutation over the contiguous shingle array (multiply-add that wraps
    mod 2^32, then a segmented minimum per document): memory is two shingle-sized
    temporaries plus the output, 4 * num_perm bytes per document.
    """
    a, b = permutations(num_perm, seed)
    sig = np.full((sh.n_docs, num_perm), MAX32, dtype=np.uint32)
    has = np.zeros(sh.n_docs, dtype=bool)
    if sh.doc.size == 0:
        return sig, has
    hv = fmix32(sh.hash)
    starts = np.r_[0, np.flatnonzero(np.diff(sh.doc)) + 1]
    docs = sh.doc[starts]
    has[docs] = True
    out = np.empty((num_perm, docs.size), dtype=np.uint32)

    def run(perms: range) -> None:
        tmp = np.empty_like(hv)
        for p in perms:
            np.multiply(hv, a[p], out=tmp)
            np.add(tmp, b[p], out=tmp)
            out[p] = np.minimum.reduceat(tmp, starts)

    # numpy's ufuncs release the GIL: the permutations split over threads run side by side
    # (one more shingle-sized temporary per thread)
    workers = max(1, min(threads if threads is not None else (os.cpu_count() or 1), num_perm, 8))
    if workers == 1 or hv.size < 100_000:
        run(range(num_perm))
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, [range(w, num_perm, workers) for w in range(workers)]))
    sig[docs] = out.T
    return sig, has


def band_key(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    """uint64 key per document for one band: a hash of its `rows` signature values."""
    key = np.zeros(sig.shape[0], dtype=np.uint64)
    for r in range(rows):
        key = key * _MIX + sig[:, band * rows + r].astype(np.uint64) + np.uint64(r + 1)
    return key ^ (key >> np.uint64(29))


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 keys [n_docs, bands] (for engines that ship keys around, e.g. Ray)."""
    keys = np.empty((sig.shape[0], bands), dtype=np.uint64)
    for band in range(bands):
        keys[:, band] = band_key(sig, band, rows)
    return keys


def _integrate(f, a: float, b: float, steps: int = 200) -> float:
    if b <= a:
        return 0.0
    x = np.linspace(a, b, steps + 1)
    y = f(x)
    return float(np.trapezoid(y, x)) if hasattr(np, "trapezoid") else float(np.trapz(y, x))


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5,
                  fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising weighted false positive/negative area, as datasketch picks."""
    best, opt = float("inf"), (1, num_perm)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = _integrate(lambda s: 1 - (1 - s ** r) ** b, 0.0, threshold)
            fn = _integrate(lambda s: 1 - (1 - (1 - s ** r) ** b), threshold, 1.0)
            err = fp * fp_weight + fn * fn_weight
            if err < best:
                best, opt = err, (b, r)
    return opt


def _bucket_pairs(key: np.ndarray, max_group: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of positions sharing a key: every pair in buckets of up to `max_group`
    members, a star to the first member in bigger ones (templated text), to stay linear."""
    order = np.argsort(key, kind="stable")
    ks = key[order]
    gid = np.cumsum(np.r_[True, ks[1:] != ks[:-1]]) - 1
    sizes = np.bincount(gid)
    dup = sizes[gid] > 1
    o, g = order[dup], gid[dup]
    if o.size == 0:
        e = np.zeros(0, np.int64)
        return e, e
    size = sizes[g]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    first = np.repeat(o[starts], np.diff(np.r_[starts, o.size]))
    big = size > max_group
    A, B = [first[big & (first != o)]], [o[big & (first != o)]]
    small = ~big
    for d in range(1, int(size[small].max(initial=1))):  # partner d places further in the bucket
        same = small[:-d] & (g[:-d] == g[d:])
        A.append(o[:-d][same])
        B.append(o[d:][same])
    return np.concatenate(A), np.concatenate(B)


def _unique_pairs(A: list[np.ndarray], B: list[np.ndarray], docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = docs[np.concatenate(A)].astype(np.int64)
    b = docs[np.concatenate(B)].astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    n = np.int64(max(int(docs.max(initial=0)) + 1, 1))
    pair = sorted_unique(lo * n + hi)
    return pair // n, pair % n


def candidate_pairs(keys: np.ndarray, docs: np.ndarray, max_group: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs (a < b) of `docs` sharing a key in at least one band of `keys` [n, bands]."""
    A, B = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for band in range(keys.shape[1]):
        a, b = _bucket_pairs(np.ascontiguousarray(keys[:, band]), max_group)
        A.append(a)
        B.append(b)
    return _unique_pairs(A, B, docs)


def lsh_pairs(sig: np.ndarray, docs: np.ndarray, bands: int, rows: int,
              max_group: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """candidate_pairs(band_keys(sig[docs])) one band at a time: memory stays O(n), the
    key matrix and a second copy of the signatures are never built."""
    A, B = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    sub = sig[docs] if docs.size != sig.shape[0] else sig
    for band in range(bands):
        a, b = _bucket_pairs(band_key(sub, band, rows), max_group)
        A.append(a)
        B.append(b)
    return _unique_pairs(A, B, docs)


def signature_similarity(sig: np.ndarray, a: np.ndarray, b: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """Estimated Jaccard of each pair: the fraction of equal signature values."""
    out = np.empty(a.size, dtype=np.float32)
    for i in range(0, a.size, block):
        out[i:i + block] = (sig[a[i:i + block]] == sig[b[i:i + block]]).mean(axis=1)
    return out


def exact_jaccard(sh: Shingles, a: np.ndarray, b: np.ndarray, block: int = 1 << 23) -> np.ndarray:
    """Exact Jaccard of the shingle sets of each pair, vectorised: each side's set as
    (pair, hash) keys, the intersection = keys both sides hold, counted per pair. Pairs go
    in blocks of about `block` keys, so memory stays bounded for long documents."""
    key = sorted_unique((sh.doc.astype(np.uint64) << np.uint64(32)) | sh.hash.astype(np.uint64))
    h = (key & np.uint64(0xFFFFFFFF))
    starts = np.searchsorted(key >> np.uint64(32), np.arange(sh.n_docs + 1, dtype=np.uint64))
    size = np.diff(starts)
    sa, sb = size[a], size[b]
    out = np.zeros(a.size, dtype=np.float32)
    cum = np.cumsum(sa + sb)
    lo = 0
    while lo < a.size:
        hi = max(lo + 1, int(np.searchsorted(cum, (cum[lo - 1] if lo else 0) + block, side="right")))
        k = np.arange(hi - lo, dtype=np.uint64) << np.uint64(32)
        keys = np.sort(np.concatenate([_pair_keys(h, starts[a[lo:hi]], sa[lo:hi], k),
                                       _pair_keys(h, starts[b[lo:hi]], sb[lo:hi], k)]))
        both = keys[1:][keys[1:] == keys[:-1]] >> np.uint64(32)  # each side's keys are distinct
        inter = np.bincount(both.astype(np.int64), minlength=hi - lo)
        union = sa[lo:hi] + sb[lo:hi] - inter
        out[lo:hi] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        lo = hi
    return out


def _pair_keys(h: np.ndarray, starts: np.ndarray, sizes: np.ndarray, pair: np.ndarray) -> np.ndarray:
    """pair << 32 | hash for every hash of every pair's document (its run in `h`)."""
    total = int(sizes.sum())
    offs = np.cumsum(sizes) - sizes
    idx = np.arange(total) - np.repeat(offs, sizes) + np.repeat(starts, sizes)
    return np.repeat(pair, sizes) | h[idx]


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique of a 1-d integer array by sort and compare: numpy 2.4's np.unique took
    0.6 s on 660k uint64 keys that np.sort orders in 5 ms."""
    s = np.sort(x)
    return s[np.r_[True, s[1:] != s[:-1]]] if s.size else s
