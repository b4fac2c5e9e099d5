"""FastTfidfVectorizer counts exactly as scikit-learn's TfidfVectorizer for the router's word and char_wb
configurations: the same n-gram counts, fitted vocabulary_ and idf_, and the same TF-IDF matrices from transform,
on tricky hand-written strings, on generated task texts and on RouteLLM's MMLU prompts; it survives pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ml.routing.model import build_pipeline
from ml.routing.vectorize import FastTfidfVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer

MMLU = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routellm-mmlu"

TRICKY = [
    "", " ", "a", "a b c", "ab", "I", "ab abc abcd abcde abcdef", "I  am\ta\ncat.\r\n\n  x ", "\t\tleading and trailing\n",
    "!!! ... ,,, ?! --- ()", "123 4567 3.14 1,000 x2 2x", "snake_case __init__ _a_ _ a_b a-b a.b", "don't can't it's",
    "naïve café Ünïcödé ß İ İstanbul ΟΔΟΣ Σ ς", "ǅ ǈ ﬁ ŉ", "中文字符 日本語のテキスト 한국어", "emoji 😀😃 👍🏽 ok 👍🏽ok",
    "x\x0by\x0cz\x1cw\x85v\xa0u\u2003t\u3000s\u200bq", "MiXeD CaSe WoRdS words Words WORDS", "e\u0301 é combining",
    "½ ² Ⅻ ٣ ۴", "tabs\tand\vvertical", "a  b", "word " * 3,
]


def _router_params() -> dict[str, dict]:
    features = build_pipeline().named_steps["features"]
    vectorizers = {name: transformer for name, transformer, _ in features.transformers if name in ("words", "chars")}
    assert all(isinstance(vectorizer, FastTfidfVectorizer) for vectorizer in vectorizers.values())
    return {name: vectorizer.get_params() for name, vectorizer in vectorizers.items()}


ROUTER = _router_params()


def _same_counts(params: dict, docs: list[str]) -> None:
    """Fitting counts before pruning: every n-gram, numbered in order of first appearance, with the same counts."""
    our_terms, our_counts = FastTfidfVectorizer(**params)._count_vocab(docs, False)
    their_terms, their_counts = TfidfVectorizer(**params)._count_vocab(docs, False)
    assert our_terms == their_terms
    assert our_counts.shape == their_counts.shape and (our_counts != their_counts).nnz == 0


def _assert_identical(params: dict, train: list[str], test: list[str]) -> tuple:
    """The same vocabulary_, idf_ and TF-IDF matrices (fit_transform on train, transform on test)."""
    ours, theirs = FastTfidfVectorizer(**params), TfidfVectorizer(**params)
    fitted, expected = ours.fit_transform(train), theirs.fit_transform(train)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert np.array_equal(ours.idf_, theirs.idf_)
    assert (fitted != expected).nnz == 0  # bit for bit: the row entries are in scikit-learn's order
    assert (ours.transform(test) != theirs.transform(test)).nnz == 0
    return ours, theirs


def _same_fixed_counts(ours, theirs, docs: list[str]) -> None:
    """Counts against the fitted vocabulary: equal, and sorted CSR like scikit-learn's."""
    counts, their_counts = ours._count_vocab(docs, True)[1], theirs._count_vocab(docs, True)[1]
    assert counts.shape == their_counts.shape and counts.has_sorted_indices
    assert (counts != their_counts).nnz == 0


CONFIGURATIONS = {
    **ROUTER,
    **{f"{name} every n-gram": params | {"min_df": 1, "max_features": None} for name, params in ROUTER.items()},
    "unigrams": {"ngram_range": (1, 1)}, "bigrams": {"ngram_range": (2, 2)},
    "words not lowercased": {"ngram_range": (1, 2), "lowercase": False},
    "char_wb 1-3": {"analyzer": "char_wb", "ngram_range": (1, 3)},
    "char_wb 2": {"analyzer": "char_wb", "ngram_range": (2, 2)},
    "char_wb 4-6": {"analyzer": "char_wb", "ngram_range": (4, 6)},  # short padded words count once, whole
    "char_wb top 50": {"analyzer": "char_wb", "ngram_range": (3, 5), "max_features": 50},  # ties in the top 50
}


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_tricky_strings_are_counted_as_scikit_learn_counts_them(name):
    params = CONFIGURATIONS[name]
    train = TRICKY * 3 + [text.upper() for text in TRICKY]
    test = [*TRICKY, "unseen words here", "new characters ƒ∂ 😀 \x00 nul", "caf\u00e9 cafe\u0301 ÇA"]
    _same_fixed_counts(*_assert_identical(params, train, test), test)
    _same_counts(params, train)


def test_unsupported_input_falls_back_to_scikit_learn():
    params = ROUTER["chars"] | {"min_df": 1}
    with_nul = ["a\x00b c", "a\x00b"]  # NUL inside an n-gram: counted by scikit-learn's code
    assert FastTfidfVectorizer(**params).fit(with_nul).vocabulary_ == TfidfVectorizer(**params).fit(with_nul).vocabulary_
    surrogate = ["lone \udc80 surrogate"]
    assert FastTfidfVectorizer(**params).fit(surrogate).vocabulary_ == \
        TfidfVectorizer(**params).fit(surrogate).vocabulary_
    with pytest.raises(ValueError, match="empty vocabulary"):
        FastTfidfVectorizer(**ROUTER["words"] | {"min_df": 1}).fit(["a", "! ?"])
    with pytest.raises(ValueError, match="np.nan is an invalid document"):
        FastTfidfVectorizer(**params).fit(["text", np.nan])


def test_generated_task_texts_are_counted_as_scikit_learn_counts_them(sample_dir):
    frames = [pd.read_json(path, lines=True) for path in sorted((sample_dir / "handoffs").glob("handoffs-*.jsonl"))]
    texts = pd.concat(frames)["task_text"].astype(str).tolist()
    assert len(texts) > 1000
    for params in ROUTER.values():
        _same_fixed_counts(*_assert_identical(params, texts[: len(texts) // 2], texts), texts)
        _same_counts(params | {"min_df": 1, "max_features": None}, texts)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["words", "chars"])
def test_mmlu_prompts_are_counted_as_scikit_learn_counts_them(name):
    if not MMLU.exists():
        pytest.skip(f"RouteLLM's MMLU prompts ({MMLU}) are absent: they sit in shared/data beside the checkout")
    prompts = pd.concat([pd.read_csv(path, usecols=["prompt"]) for path in sorted(MMLU.glob("*.csv"))])
    prompts = prompts["prompt"].dropna().astype(str).tolist()
    assert len(prompts) > 10_000
    _assert_identical(ROUTER[name], prompts, prompts)  # equal TF-IDF values imply equal counts
    _same_counts(ROUTER[name] | {"min_df": 1, "max_features": None}, prompts[:2_000])  # every n-gram, unpruned


def test_a_pickled_vectorizer_transforms_the_same():
    for params in ROUTER.values():
        vectorizer = FastTfidfVectorizer(**params).fit(TRICKY * 3)
        restored = pickle.loads(pickle.dumps(vectorizer))
        assert type(restored) is FastTfidfVectorizer and restored.vocabulary_ == vectorizer.vocabulary_
        assert (restored.transform(TRICKY) != vectorizer.transform(TRICKY)).nnz == 0
        assert restored.build_analyzer()("Naïve  cafe") == TfidfVectorizer(**params).build_analyzer()("Naïve  cafe")
