"""Prospective search benchmark: new stories matched against 100,000 follows and 10,000
feed filters by the matcher (bot/matcher.py), and its memory.

    python -m bench.follows [--follows 100000] [--filters 10000] [--stories 1000] [--runs 3]

Stories are the synthetic corpus's (tests/support/corpus.py: realistic titles, excerpts,
providers and topics with Zipf-like skew). Term statistics come from the first --sample
stories; the new stories are the next --stories. Follows are what readers follow: a topic
keyword (`Nvidia`, `"large language models"`), an entity (`Erdoğan`), a keyword less
another topic's (`ransomware -crypto`), a prefix (`chatb*`), a rare name from the
stories, a phrase from a title, or a topic; filters are one to three keywords of a topic
less zero to two others. Popular keywords are followed far more than rare ones, so
stories match thousands of follows.

Prints the medians over --runs of: one new story matched, p50 and p99 (target p99 < 20 ms),
and the whole burst of --stories matched one after another (target < 10 s for 1,000);
how many keys a story matched; and how memory grows, per 10,000 follows: the Python heap
(tracemalloc, while building) and the process's RSS (a build without tracemalloc).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from itertools import pairwise

import psutil
import yaml

from bench.soak import percentile
from bot.follow_query import FollowQuery
from bot.matcher import CorpusStats, Matcher, Story, Topic
from tests.support.corpus import ENTITIES, TOPIC_NAMES, TOPICS, make_article

SEED = 18
STEP = 10_000  # follows between two memory readings
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def story(i: int) -> Story:
    """The corpus's i-th article as the matcher reads it."""
    _, text = make_article(SEED, i)
    data = yaml.load(text.split("---\n")[1], Loader=_LOADER)  # a safe loader
    return Story(data["title"], data["excerpt"], data["provider"]["name"], tuple(data["topics"]))


class Follows:
    """Draws what readers follow and what feeds filter, from the corpus's vocabulary."""

    def __init__(self, sample: list[Story], rng: random.Random) -> None:
        self.rng = rng
        counts: dict[str, int] = {}
        self.titles = [s.title.split() for s in sample]
        for words in self.titles:
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        self.rare = sorted(w for w, n in counts.items() if n <= 3 and w.isalpha())
        ranks = range(1, len(TOPICS) + 1)
        self.topic_weights = [1 / rank for rank in ranks]  # Zipf, as the corpus draws them

    def keyword(self, topic: int | None = None) -> str:
        keywords = TOPICS[topic if topic is not None else self.topic()][1]
        word = self.rng.choice(keywords)
        return f'"{word}"' if " " in word else word

    def topic(self) -> int:
        return self.rng.choices(range(len(TOPICS)), self.topic_weights)[0]

    def follow(self) -> FollowQuery | Topic:
        """One reader's follow, in the mix the module docstring describes."""
        rng, kind = self.rng, self.rng.random()
        if kind < 0.35:
            typed = self.keyword()
        elif kind < 0.50:
            typed = rng.choice(ENTITIES)
        elif kind < 0.65:
            typed = f"{self.keyword()} -{self.keyword()}"
        elif kind < 0.75:
            long = [w for w in self.keyword().strip('"').split() if len(w) > 3] or ["tech"]
            word = rng.choice(long)
            also = self.keyword() if rng.random() < 0.3 else ""
            typed = f"{word[: rng.randint(3, len(word))]}* {also}"
        elif kind < 0.85:
            typed = rng.choice(self.rare)
        elif kind < 0.90:
            title = rng.choice(self.titles)
            at = rng.randrange(max(1, len(title) - 1))
            typed = '"' + " ".join(title[at : at + 2]) + '"'
        else:
            return Topic(TOPIC_NAMES[self.topic()])
        return parsed(typed, self.follow)

    def feed_filter(self) -> FollowQuery | Topic:
        """A channel's filter: keywords of one topic, less some of others."""
        topic = self.topic()
        wanted = [self.keyword(topic) for _ in range(self.rng.randint(1, 3))]
        unwanted = [f"-{self.keyword()}" for _ in range(self.rng.randint(0, 2))]
        return parsed(" ".join(wanted + unwanted), self.feed_filter)


def parsed(typed: str, again: Callable[[], FollowQuery | Topic]) -> FollowQuery | Topic:
    """The query, or another draw when this one is refused (a keyword also excluded)."""
    try:
        return FollowQuery.parse(typed)
    except ValueError:
        return again()


def build(
    follows: list[FollowQuery | Topic], filters: list[FollowQuery | Topic], stats: CorpusStats
) -> tuple[Matcher, list[int]]:
    """The matcher with every follow (four per member) and filter, and the memory it held
    after each STEP follows (whatever `measure` reads)."""
    matcher = Matcher(stats)
    readings: list[int] = []
    for n, query in enumerate(follows):
        if n % STEP == 0:
            readings.append(_reading())
        matcher.add((n // 4, n % 4), query)  # (member, slot)
    readings.append(_reading())
    for n, query in enumerate(filters):
        matcher.add(("feed", n), query)
    return matcher, readings


def _reading() -> int:
    if tracemalloc.is_tracing():
        return tracemalloc.get_traced_memory()[0]
    return int(psutil.Process().memory_info().rss)


def per_step(readings: list[int]) -> float:
    """The median growth between two readings, in MiB."""
    return statistics.median(b - a for a, b in pairwise(readings)) / 2**20


def run(matcher: Matcher, stories: list[Story]) -> tuple[float, float, float, float]:
    """(p50 ms, p99 ms, burst s, median keys matched) for matching each story in turn."""
    latencies, matched = [], []
    started = time.perf_counter()
    for one in stories:
        begun = time.perf_counter()
        found = matcher.match(one)
        latencies.append(time.perf_counter() - begun)
        matched.append(len(found))
    burst = time.perf_counter() - started
    return (
        percentile(latencies, 0.50) * 1000,
        percentile(latencies, 0.99) * 1000,
        burst,
        statistics.median(matched),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--follows", type=int, default=100_000)
    parser.add_argument("--filters", type=int, default=10_000)
    parser.add_argument("--stories", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=5_000, help="stories for term statistics")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    sample = [story(i) for i in range(args.sample)]
    fresh = [story(i) for i in range(args.sample, args.sample + args.stories)]
    stats = CorpusStats(sample)
    draw = Follows(sample, random.Random(SEED))
    follows = [draw.follow() for _ in range(args.follows)]
    filters = [draw.feed_filter() for _ in range(args.filters)]
    print(f"corpus, statistics and queries: {time.perf_counter() - began:.1f} s")

    tracemalloc.start()
    _, heap = build(follows, filters, stats)
    tracemalloc.stop()
    began = time.perf_counter()
    matcher, rss = build(follows, filters, stats)
    print(
        f"built {len(matcher):,} keys ({matcher.queries:,} distinct queries) in "
        f"{time.perf_counter() - began:.1f} s; per "
        f"{STEP:,} follows: heap +{per_step(heap):.2f} MiB, RSS +{per_step(rss):.2f} MiB"
    )

    results = [run(matcher, fresh) for _ in range(args.runs)]
    p50, p99, burst, keys = (statistics.median(r[i] for r in results) for i in range(4))
    print(
        f"one story ({args.follows:,} follows, {args.filters:,} filters), medians of "
        f"{args.runs} runs: p50 {p50:.2f} ms, p99 {p99:.2f} ms (target < 20 ms)"
    )
    print(f"burst of {args.stories:,} stories: {burst:.2f} s (target < 10 s for 1,000)")
    print(f"keys matched by a story: median {keys:,.0f}")
    return 0 if p99 < 20 and burst < 10 * args.stories / 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
