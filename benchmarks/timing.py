"""The one way the benchmark scripts time a step: the median of several measurements."""

from __future__ import annotations

import time


def median_seconds(step, seconds=0.3, repeats=5, warmup=0, calls=None) -> float:
    """Median seconds of one call of `step`, over `repeats` measurements of `calls`
    calls each, or (calls=None) of as many as take at least `seconds`; after `warmup`
    untimed calls (threads started, caches filled)."""
    for _ in range(warmup):
        step()
    n = calls
    if n is None:
        start = time.perf_counter()
        step()
        n = max(1, round(seconds / max(time.perf_counter() - start, 1e-9)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - start) / n)
    return sorted(times)[len(times) // 2]
