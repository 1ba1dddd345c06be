"""Knowledge retrieval speed: BM25 scoring latency for 1k / 10k / 20k chunks (the per-base limit).

Run: ``uv run python -m tests.bench.bench_retrieval``. Prints the mean per-query latency over
English and Chinese queries, and the time to compute terms for a chunk at upload.
"""

from __future__ import annotations

import random
import statistics
import time

from pilot.knowledge.retrieval import IndexedChunk, bm25, chunk_terms

ZH = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理世车"


def corpus(n: int, rng: random.Random) -> list[IndexedChunk]:
    words = [f"term{i}" for i in range(5000)]
    chunks = []
    for i in range(n):
        text = " ".join(rng.choices(words, k=60)) + " " + "".join(rng.choices(ZH, k=60))
        terms = chunk_terms(f"doc {i}", text)
        chunks.append(IndexedChunk(chunk_id=i, document_id=f"doc_{i}", title=f"doc {i}", text=text,
                                   tf=terms["tf"], length=terms["len"]))
    return chunks


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.mean(samples) * 1000


def main() -> None:
    rng = random.Random(7)
    queries = ["term1 term22 term333 term4444", "how to term17 the term99", "中国的发展", "学习方法和工作经验"]
    start = time.perf_counter()
    chunks = corpus(20_000, rng)
    print(f"terms per chunk at upload: {(time.perf_counter() - start) / 20_000 * 1000:.3f} ms")
    for n in (1_000, 10_000, 20_000):
        scan = statistics.mean(timed(lambda q=q, n=n: bm25(q, chunks[:n], 5), 5) for q in queries)
        print(f"{n:>6} chunks: {scan:7.2f} ms/query")


if __name__ == "__main__":
    main()
