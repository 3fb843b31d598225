"""Foreign-material benchmark: index 10,000 answers of 500 words, then check one answer against them.

Prints one JSON object. The answers are drawn (seeded) from the words of the orders in tests/material/law, so they
share the vocabulary of one subject as a real exam's answers do; a few are copies of others (a tenth, a fifth and a
third of their words changed, paragraphs reordered, Latin alphabet) and must be found. Indexing is what the platform
does for each stored answer: normalise, sign, insert into the college's LSH. A check is normalise, sign, query,
align. Run: `python -m benchmarks.material [--answers 10000] [--words 500]`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from proctor.material.check import check
from proctor.material.index import MaterialIndex
from proctor.material.normalise import Normalised, normalise
from proctor.material.signatures import signatures

LAW = Path(__file__).resolve().parents[1] / "tests" / "material" / "law"
WORD = re.compile(r"\w+")


def vocabulary() -> list[str]:
    words: list[str] = []
    for path in sorted(LAW.glob("*.txt")):
        words.extend(WORD.findall(path.read_text(encoding="utf-8")))
    if not words:
        raise SystemExit(f"no law texts in {LAW}: the benchmark draws its words from them")
    return words


def answer(rng: random.Random, words: list[str], count: int) -> str:
    """`count` words in paragraphs of 50-100: runs of 1-4 consecutive words of the orders, so the answers share
    the subject's phrases as well as its words."""
    out: list[str] = []
    while len(out) < count:
        start = rng.randrange(len(words) - 4)
        out.extend(words[start : start + rng.randint(1, 4)])
    out = out[:count]
    paragraphs = [" ".join(out[i : i + 75]) + "." for i in range(0, count, 75)]
    return "\n\n".join(paragraphs)


def changed(rng: random.Random, text: str, share: float, words: list[str]) -> str:
    tokens = text.split(" ")
    for index in rng.sample(range(len(tokens)), round(share * len(tokens))):
        tokens[index] = rng.choice(words)
    return " ".join(tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--checks", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(187)
    words = vocabulary()
    texts = [answer(rng, words, args.words) for _ in range(args.answers)]
    copies = {
        "copy_10": changed(rng, texts[1], 0.1, words),
        "copy_20": changed(rng, texts[2], 0.2, words),
        "copy_30": changed(rng, texts[3], 0.3, words),
        "reordered": "\n\n".join(reversed(texts[4].split("\n\n"))),
    }

    started = time.perf_counter()
    index = MaterialIndex()
    kept: dict[int, Normalised] = {}
    for number, text in enumerate(texts):
        normalised = normalise(text)
        kept[number] = normalised
        index.add(number, signatures(normalised.terms))
    index_s = time.perf_counter() - started

    timings: list[float] = []
    sample = [rng.randrange(10, len(texts)) for _ in range(args.checks)]  # indexed answers, each not against itself
    found: dict[str, Any] = {}
    for name, own in [*((name, -1) for name in copies), *(("indexed", number) for number in sample)]:
        text = copies[name] if own < 0 else texts[own]
        begun = time.perf_counter()
        normalised = normalise(text)
        checked = check(
            normalised, signatures(normalised.terms), index, kept.get, keep=lambda other, own=own: other != own
        )
        timings.append(time.perf_counter() - begun)
        if own < 0:
            target = (
                int(name == "copy_10")
                + 2 * int(name == "copy_20")
                + 3 * int(name == "copy_30")
                + 4 * int(name == "reordered")
            )
            share = next((m.share for m in checked.matches if m.text_id == target), 0.0)
            found[name] = {"found": share > 0, "share": share}
    print(
        json.dumps(
            {
                "answers": args.answers,
                "words_per_answer": args.words,
                "index_s": round(index_s, 2),
                "index_ms_per_answer": round(1000 * index_s / args.answers, 3),
                "check_ms_median": round(1000 * statistics.median(timings), 2),
                "check_ms_max": round(1000 * max(timings), 2),
                "checks": len(timings),
                "copies": found,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
