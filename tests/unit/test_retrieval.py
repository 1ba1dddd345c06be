"""Chunking, tokenisation (Chinese bigrams, English stemming) and BM25 ranking."""

from __future__ import annotations

from pilot.knowledge.retrieval import IndexedChunk, bm25, chunk_terms
from pilot.knowledge.text import chunk_text, split_sentences, tokenize


def test_chinese_becomes_bigrams() -> None:
    assert tokenize("退款政策") == ["退款", "款政", "政策"]
    assert tokenize("我") == ["我"]


def test_english_is_lowercased_stemmed_and_stopwords_dropped() -> None:
    assert tokenize("The Refunds were REFUNDED, refunding") == ["refund", "refund", "refund"]
    assert tokenize("stopping calls, replies") == ["stop", "call", "reply"]
    assert tokenize("order A123 costs 30 dollars") == ["order", "a123", "cost", "30", "dollar"]


def test_mixed_language_text() -> None:
    assert tokenize("使用 Python 编程") == ["使用", "python", "编程"]


def test_sentences_split_on_chinese_and_english_punctuation() -> None:
    assert split_sentences("第一句。第二句！第三句？Fourth one. Fifth!") == [
        "第一句。", "第二句！", "第三句？", "Fourth one.", "Fifth!"
    ]
    assert split_sentences("Version 2.0 is out.") == ["Version 2.0 is out."]  # no split inside numbers


def test_chunks_respect_limit_and_boundaries() -> None:
    text = "\n\n".join(["这是一个很长的句子，用来测试分块。" * 3] * 4 + ["Short English paragraph. Another sentence here."])
    chunks = chunk_text(text, max_chars=60)
    assert all(len(c) <= 60 for c in chunks)
    assert all(c.endswith(("。", ".", "!", "?")) for c in chunks)  # never cut mid-sentence
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_small_paragraphs_are_packed_together() -> None:
    assert chunk_text("One.\n\nTwo.\n\nThree.", max_chars=100) == ["One.\n\nTwo.\n\nThree."]


def test_overlong_sentence_is_hard_split() -> None:
    assert chunk_text("x" * 25, max_chars=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text(" \n\n \n") == []


def _chunk(i: int, title: str, text: str) -> IndexedChunk:
    terms = chunk_terms(title, text)
    return IndexedChunk(chunk_id=i, document_id=f"doc_{i}", title=title, text=text, tf=terms["tf"], length=terms["len"])


CORPUS = [
    _chunk(1, "Refunds", "Customers may request a refund within 30 days. Refunds go to the original card."),
    _chunk(2, "Shipping", "Orders ship within two business days; express shipping is available."),
    _chunk(3, "退款政策", "收到商品后三十天内可以申请退款，退款原路返回。"),
    _chunk(4, "配送", "订单在两个工作日内发货，加急配送需额外付费。"),
    _chunk(5, "Accounts", "Reset your password from the login page. Password resets expire after one hour."),
]


def test_bm25_ranks_the_relevant_english_chunk_first() -> None:
    ranked = bm25("how can I get a refund?", CORPUS, 3)
    assert ranked[0][1].chunk_id == 1
    assert bm25("password reset", CORPUS, 3)[0][1].chunk_id == 5


def test_bm25_ranks_the_relevant_chinese_chunk_first() -> None:
    assert bm25("如何申请退款", CORPUS, 2)[0][1].chunk_id == 3
    assert bm25("发货要多久", CORPUS, 2)[0][1].chunk_id == 4


def test_bm25_scores_are_sorted_positive_and_bounded_by_top_k() -> None:
    ranked = bm25("refund shipping 退款", CORPUS, 2)
    assert len(ranked) == 2
    assert ranked[0][0] >= ranked[1][0] > 0


def test_bm25_no_match_and_empty_query() -> None:
    assert bm25("zebra", CORPUS, 3) == []
    assert bm25("the of and", CORPUS, 3) == []  # stop words only
    assert bm25("refund", [], 3) == []


def test_rare_terms_outweigh_common_ones() -> None:
    docs = [_chunk(i, "t", "order status update") for i in range(10)] + [_chunk(99, "t", "order cancellation")]
    assert bm25("order cancellation", docs, 1)[0][1].chunk_id == 99

