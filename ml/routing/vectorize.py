"""TF-IDF whose n-gram counting runs over all documents at once (pyarrow and numpy, no Python loop per n-gram).

`FastTfidfVectorizer` is scikit-learn's TfidfVectorizer with only the counting step (`_count_vocab`) replaced, for
the router's two configurations: words (default token pattern, 1–2-grams) and char_wb n-grams. min_df,
max_features, idf, norm and `build_analyzer()` stay scikit-learn's; counts, vocabulary_, idf_ and the TF-IDF
matrices are identical bit for bit (tests/ml/test_vectorize.py). Other configurations, and documents that are not
all str, use the parent's counting.

Both split the documents on whitespace as str.split() does and work on the distinct words: char n-grams are
counted once per distinct word, then per document as (document × word counts) @ (word × n-gram counts).
Char n-gram ids are found level by level, as in a trie: the id of the n-gram at a position is looked up from the id
of its (n-1)-gram and its n-th character, among the prefixes seen in the words (fit) or in the vocabulary.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._sparse import _align_api_if_sparse

_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_CODE_POINTS = 0x110000
_TABLE_LIMIT = 1 << 22  # key spaces up to this size are looked up in a dense table, larger ones by sorting


class FastTfidfVectorizer(TfidfVectorizer):
    """TfidfVectorizer with vectorised counting for words (1–2-grams) and char_wb n-grams."""

    def _count_vocab(self, raw_documents, fixed_vocab):
        docs = list(raw_documents)
        counter = self._fast_counter()
        if counter is None or not all(isinstance(doc, str) for doc in docs):
            return super()._count_vocab(docs, fixed_vocab)
        # str.lower, not arrow's utf8_lower: that one differs on İ, a word-final Σ and newer Unicode letters
        lowered = [doc.lower() for doc in docs] if self.lowercase else docs
        try:
            found = counter(lowered, self.vocabulary_ if fixed_vocab else None)
        except UnicodeEncodeError:  # lone surrogates
            found = None
        if found is None:
            return super()._count_vocab(docs, fixed_vocab)
        vocabulary, counts, first = found
        counts = sp.csr_array(counts, dtype=self.dtype)  # from CSC: sorted indices
        if first is not None:
            # Fit: number the n-grams in order of first appearance, as scikit-learn does. Its fit keeps the row
            # entries in that order, so the l2 norms of fit_transform round exactly as scikit-learn's.
            rank = np.empty(len(first), dtype=counts.indices.dtype)
            rank[np.argsort(first)] = np.arange(len(first))
            vocabulary = dict(zip(vocabulary, rank.tolist(), strict=True))
            counts.indices = rank[counts.indices]
            counts.has_sorted_indices = False
        counts.sort_indices()
        return vocabulary, _align_api_if_sparse(counts)

    def _fast_counter(self):
        low, high = self.ngram_range
        if self.input != "content" or self.preprocessor is not None or self.strip_accents is not None or low < 1:
            return None
        if (self.analyzer == "word" and self.tokenizer is None and self.stop_words is None
                and self.token_pattern == _TOKEN_PATTERN and high <= 2):
            return self._word_counts
        return self._char_wb_counts if self.analyzer == "char_wb" else None

    def _word_counts(self, docs: list[str], vocabulary: dict | None):
        """Tokens are runs of ≥ 2 word characters (inside whitespace-separated words); bigrams join neighbours."""
        doc_of, word_of, words = _split(docs)
        pieces = pc.split_pattern_regex(words, _non_word_pattern())
        long = pc.greater_equal(pc.utf8_length(pc.list_flatten(pieces)), 2)
        tokens = pc.list_flatten(pieces).filter(long)
        per_word = np.bincount(pc.list_parent_indices(pieces).filter(long).to_numpy(), minlength=len(words))
        if vocabulary is None:
            encoded = tokens.dictionary_encode()
            names, token_ids = encoded.dictionary, encoded.indices.to_numpy().astype(np.int64)
        else:
            parts = pc.split_pattern(pa.array(list(vocabulary), pa.large_string()), " ")
            names = pc.unique(pc.list_flatten(parts))
            token_ids = pc.fill_null(pc.index_in(tokens, value_set=names), -1).to_numpy().astype(np.int64)
        # the token sequence of every document: each word occurrence's tokens, in order
        starts = np.cumsum(per_word) - per_word  # of each distinct word's tokens
        counts = per_word[word_of]
        ids = token_ids[np.repeat(starts[word_of] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())]
        rows = np.repeat(doc_of, counts)

        base = len(names) + 1  # key = (first id + 1) * base + (second id + 1, or 0 for a unigram)
        low, high = self.ngram_range
        keys, key_rows, seen = [], [], []  # seen: where scikit-learn's analyzer emits it (unigrams, then bigrams)
        at = np.arange(len(ids)) + 2 * len(ids) * rows
        if low == 1:
            keys.append((ids[ids >= 0] + 1) * base)
            key_rows.append(rows[ids >= 0])
            seen.append(at[ids >= 0])
        if high == 2:
            pair = (rows[1:] == rows[:-1]) & (ids[1:] >= 0) & (ids[:-1] >= 0)
            keys.append(((ids[:-1] + 1) * base + ids[1:] + 1)[pair])
            key_rows.append(rows[:-1][pair])
            seen.append(at[:-1][pair] + len(ids))
        keys, rows, seen = np.concatenate(keys), np.concatenate(key_rows), np.concatenate(seen)
        if vocabulary is None:
            if not len(keys):
                return None  # the parent raises its "empty vocabulary" error
            unique, cols = np.unique(keys, return_inverse=True)
            second = unique % base - 1
            terms = pc.binary_join_element_wise(names.take(unique // base - 1),
                                                names.take(pa.array(second, mask=second < 0)),
                                                pa.scalar(" ", pa.large_string()), null_handling="skip").to_pylist()
            vocabulary = dict(zip(terms, range(len(terms)), strict=True))
            return vocabulary, _counts(rows, cols, (len(docs), len(vocabulary))), _first(cols, seen, len(vocabulary))
        part_ids = pc.index_in(pc.list_flatten(parts), value_set=names).to_numpy().astype(np.int64)
        sizes = pc.list_value_length(parts).to_numpy()
        head = np.minimum(parts.offsets.to_numpy()[:-1], len(part_ids) - 1)
        second = np.where(sizes == 2, part_ids[np.minimum(head + 1, len(part_ids) - 1)] + 1, 0)
        usable = (sizes == 1) | (sizes == 2)
        term_keys = ((part_ids[head] + 1) * base + second)[usable]
        cols = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))[usable]
        found = pd.Index(term_keys).get_indexer(keys)
        rows, cols = rows[found >= 0], cols[found[found >= 0]]
        return vocabulary, _counts(rows, cols, (len(docs), len(vocabulary))), None

    def _char_wb_counts(self, docs: list[str], vocabulary: dict | None):
        doc_of, word_of, words = _split(docs)
        found = self._char_wb_words(words, vocabulary)
        if found is None:
            return None
        vocabulary, per_word, first = found
        # CSC @ CSC; its conversion to CSR sorts the column indices in one O(nnz) pass (no per-row sort).
        # Word ids follow first appearance, so the per-word first appearances order the n-grams as in the documents.
        return vocabulary, _counts(doc_of, word_of, (len(docs), len(words))) @ per_word, first

    def _char_wb_words(self, words: pa.Array, vocabulary: dict | None):
        """(vocabulary, word × n-gram counts): the windows of each word padded by a space each side; a padded word
        no longer than the smallest n is one n-gram (scikit-learn's rule)."""
        low, high = self.ngram_range
        lengths = pc.utf8_length(words).to_numpy().astype(np.int64)
        joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(words)], pa.int64()), words),
                                pa.scalar("", pa.large_string()))[0].as_py() or ""
        points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        if vocabulary is None and (points == 0).any():
            return None  # NUL characters would be lost when turning n-grams back into strings
        sizes = lengths + 2
        padded = np.full(int(sizes.sum()), ord(" "), dtype=np.uint32)
        owner = np.repeat(np.arange(len(words)), lengths)
        padded[np.arange(len(points)) + 2 * owner + 1] = points
        segments = np.cumsum(sizes) - sizes
        remaining = np.repeat(segments + sizes, sizes) - np.arange(len(padded))  # room left in the padded word
        word_start = np.zeros(len(padded), dtype=bool)
        word_start[segments] = True
        owner = np.repeat(np.arange(len(words)), sizes)

        if vocabulary is None:
            alphabet = np.unique(padded)
            known, columns = [None] * (high + 1), None
        else:
            alphabet, known, columns = _char_trie(vocabulary, high)
        rank = np.zeros(_CODE_POINTS, dtype=np.int64)  # 0: a character absent from the vocabulary
        rank[alphabet] = np.arange(1, len(alphabet) + 1)
        ranks = rank[padded]
        base = len(alphabet) + 1

        pos = np.flatnonzero(ranks)
        ids = ranks[pos]
        rows, cols, seen, offsets, offset, space = [], [], [], [0] * (high + 1), 0, base
        width = int(sizes.max(initial=0))  # seen: where scikit-learn's analyzer emits it in the word (n, offset)
        for n in range(1, high + 1):
            if n > 1:
                fits = remaining[pos] >= n
                pos, ids = pos[fits], ids[fits]
                following = ranks[pos + n - 1]
                ids, known[n] = _dense_ids(ids * base + following, space * base, known[n])
                keep = (ids >= 0) & (following > 0)
                pos, ids = pos[keep], ids[keep]
                space = len(known[n])
            emit = slice(None) if n >= low else word_start[pos] & (remaining[pos] == n)  # a whole short word
            level_cols = ids[emit] + offset if columns is None else columns[n][ids[emit]]
            found = level_cols >= 0
            rows.append(owner[pos[emit]][found])
            cols.append(level_cols[found])
            if columns is None:
                at = pos[emit]
                seen.append((owner[at] * (high + 1) + max(n, low)) * width + at - segments[owner[at]])
            offsets[n], offset = offset, offset + space
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        if columns is None:
            if not len(cols):
                return None
            used = np.zeros(offset, dtype=bool)  # the prefix ids that are n-grams (all from min_n on)
            used[cols] = True
            terms = [_decode(np.flatnonzero(used[offsets[n]:offsets[n] + (len(known[n]) if n > 1 else base)]), n,
                             known, np.concatenate(([0], alphabet)), base, high) for n in range(1, high + 1)]
            terms = np.concatenate(terms).tolist()
            vocabulary, cols = dict(zip(terms, range(len(terms)), strict=True)), (np.cumsum(used) - 1)[cols]
            first = _first(cols, np.concatenate(seen), len(vocabulary))
        return vocabulary, _counts(rows, cols, (len(words), len(vocabulary))), first if columns is None else None


def _split(docs: list[str]) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """str.split() of every document: per word occurrence its document and distinct-word id; the distinct words."""
    pieces = pc.utf8_split_whitespace(pa.array(docs, pa.large_string()))  # same whitespace as str.isspace()
    nonempty = pc.greater(pc.binary_length(pc.list_flatten(pieces)), 0)
    encoded = pc.list_flatten(pieces).filter(nonempty).dictionary_encode()
    doc_of = pc.list_parent_indices(pieces).filter(nonempty).to_numpy()
    return doc_of, encoded.indices.to_numpy().astype(np.int64), encoded.dictionary


@cache
def _non_word_pattern() -> str:
    """RE2 class of the characters that are not Python's `\\w` (str.isalnum() or "_"), from this Python's Unicode."""
    word = np.char.isalnum(np.arange(_CODE_POINTS, dtype=np.uint32).view("U1"))
    word[ord("_")] = True
    edges = np.flatnonzero(np.diff(word.astype(np.int8), prepend=0, append=0)).reshape(-1, 2)
    return "[^" + "".join(f"\\x{{{start:x}}}-\\x{{{end - 1:x}}}" for start, end in edges) + "]+"


def _counts(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csc_array:
    """Sparse (CSC) counts of (row, column) pairs. The pairs of a column come in row order: O(nnz), no sorting."""
    return sp.coo_array((np.ones(len(rows)), (rows, cols)), shape=shape).tocsc()


def _first(cols: np.ndarray, seen: np.ndarray, size: int) -> np.ndarray:
    """Per column, the smallest `seen` of its entries (where the n-gram first appears)."""
    first = np.full(size, np.iinfo(np.int64).max)
    np.minimum.at(first, cols, seen)
    return first


def _dense_ids(keys: np.ndarray, space: int, known: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Ids of keys (< space) among the sorted known keys (-1 when absent), or among the distinct keys if None."""
    if space > _TABLE_LIMIT:
        if known is None:
            return np.unique(keys, return_inverse=True)[::-1]
        found = pd.Index(known).get_indexer(keys)
        return found, known
    if known is None:
        seen = np.zeros(space, dtype=bool)
        seen[keys] = True
        known = np.flatnonzero(seen)
    table = np.full(space, -1, dtype=np.int64)
    table[known] = np.arange(len(known))
    return table[keys], known


def _char_trie(vocabulary: dict, high: int):
    """The vocabulary's alphabet, its sorted prefix keys per length and, per length, prefix id -> column (or -1)."""
    terms = list(vocabulary)
    lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    points = np.array(terms, dtype=f"<U{high}").view(np.uint32).reshape(len(terms), high)
    usable = (lengths >= 1) & (lengths <= high) & ((points != 0).sum(axis=1) == lengths)
    points, lengths = points[usable], lengths[usable]
    term_cols = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))[usable]
    alphabet = np.unique(points[points != 0])
    ranks = np.searchsorted(alphabet, points) + 1
    base = len(alphabet) + 1
    known, columns = [None] * (high + 1), [None] * (high + 1)
    ids = ranks[:, 0]
    columns[1] = np.full(base, -1, dtype=np.int64)
    columns[1][ids[lengths == 1]] = term_cols[lengths == 1]
    for n in range(2, high + 1):
        longer = lengths >= n
        ranks, lengths, term_cols, ids = ranks[longer], lengths[longer], term_cols[longer], ids[longer]
        known[n], ids = np.unique(ids * base + ranks[:, n - 1], return_inverse=True)
        columns[n] = np.full(len(known[n]), -1, dtype=np.int64)
        columns[n][ids[lengths == n]] = term_cols[lengths == n]
    return alphabet, known, columns


def _decode(ids: np.ndarray, n: int, known: list, alphabet: np.ndarray, base: int, width: int) -> np.ndarray:
    """The n-grams (numpy str array) with these level-n prefix ids."""
    points = np.zeros((len(ids), width), dtype=np.uint32)
    for level in range(n, 1, -1):
        keys = known[level][ids]
        points[:, level - 1] = alphabet[keys % base]
        ids = keys // base
    points[:, 0] = alphabet[ids]
    return points.view(f"<U{width}").ravel()
