"""The memory view: every value's life along the schedule, as bars, and the peak.

A Program's MemoryPlan lists, for each intermediate value that takes memory,
the instruction that makes it, the last one that reads it, and its bytes.
Drawn as one horizontal bar per value (x: position in the run order), the
picture shows why freeing early matters: the bars alive at one position add
up to the memory in use there. Above the bars, that sum is drawn as a curve
along the whole schedule, with its peak marked.

Big Programs have thousands of values: the curve stays exact (one column per
few instructions, the highest value in each), and the bars drawn are the
values alive at the peak, then the largest others, up to MAX_BARS.
"""

from __future__ import annotations

import numpy as np

from symgraph.viz.labels import html_text

#: at most this many bars are drawn
MAX_BARS = 160
#: bars get their names written beside them when there are at most this many
NAMED_BARS = 48
WIDTH = 760  # drawing width in px, for the schedule axis
LEFT = 190  # room for names on the left
CURVE = 70  # height of the live-bytes curve


def nice_bytes(n: int) -> str:
    """1536 -> '1.5 KB': bytes for people (powers of 1024)."""
    n = int(n)
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1024
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if n < 100 else f"{n:.0f} {unit}"
    return f"{n} B"  # pragma: no cover


def live_bytes(intervals, length: int) -> np.ndarray:
    """Bytes alive at each position 0..length (a value counts from its start to its end)."""
    change = np.zeros(length + 2, dtype=np.int64)
    for start, end, size, _ in intervals:
        change[start] += size
        change[min(end, length) + 1] -= size
    return np.cumsum(change)[: length + 1]


def memory_svg(plan, length: int, caption: str = "") -> str:
    """The memory view of one MemoryPlan, as an inline <svg> (and a line of text above it)."""
    intervals = list(plan.intervals)
    if not intervals or length <= 0:
        return '<p class="memnote">No intermediate value takes memory in this Program.</p>'
    live = live_bytes(intervals, length)
    peak_at = int(np.argmax(live))
    peak = int(live[peak_at])
    span = length + 1
    x = lambda pos: LEFT + WIDTH * pos / span  # noqa: E731 - a one-line scale
    at_peak = [i for i, (s, e, _, _) in enumerate(intervals) if s <= peak_at <= e]
    chosen = _choose_bars(intervals, at_peak)
    named = len(chosen) <= NAMED_BARS
    row = 13 if named else max(3, min(8, 480 // max(len(chosen), 1)))
    top = CURVE + 34
    height = top + row * len(chosen) + 28
    biggest = max(size for _, _, size, _ in intervals)
    out = [
        f'<svg class="memory" viewBox="0 0 {LEFT + WIDTH + 10} {height}" '
        f'width="{LEFT + WIDTH + 10}" height="{height}" role="img" '
        f'aria-label="memory of each value along the schedule">'
    ]
    # the curve: bytes alive at each position (the highest in each column), as an area
    columns = min(span, WIDTH)
    edges = np.linspace(0, span, columns + 1).astype(int)
    points = [f"{LEFT},{CURVE}"]
    for c in range(columns):
        a, b = edges[c], max(edges[c + 1], edges[c] + 1)
        y = CURVE - (CURVE - 8) * float(live[a:b].max()) / max(peak, 1)
        points.append(f"{x(a):.1f},{y:.1f} {x(b):.1f},{y:.1f}")
    points.append(f"{LEFT + WIDTH},{CURVE}")
    out.append(
        f'<polygon class="live" points="{" ".join(points)}"><title>bytes alive along '
        f"the schedule; peak {nice_bytes(peak)}</title></polygon>"
    )
    out.append(f'<text x="{LEFT - 6}" y="14" class="axis" text-anchor="end">live bytes</text>')
    out.append(f'<text x="{LEFT - 6}" y="{CURVE}" class="axis" text-anchor="end">0</text>')
    # the peak: a line down through the bars, and its figure
    px = x(peak_at + 0.5)
    out.append(f'<line class="peakline" x1="{px:.1f}" y1="4" x2="{px:.1f}" y2="{height - 22}"/>')
    anchor = "end" if px > LEFT + WIDTH * 0.7 else "start"
    dx = -5 if anchor == "end" else 5
    out.append(
        f'<text class="peaklabel" x="{px + dx:.1f}" y="14" text-anchor="{anchor}">'
        f"peak {nice_bytes(peak)} at instruction {peak_at}</text>"
    )
    # the bars, in the order their values are made
    peaked = set(at_peak)
    for r, i in enumerate(sorted(chosen, key=lambda i: (intervals[i][0], intervals[i][1]))):
        start, end, size, name = intervals[i]
        y = top + r * row
        x0, x1 = x(start), x(min(end, length) + 1)
        cls = "bar peak" if i in peaked else "bar"
        shade = 0.35 + 0.65 * size / biggest
        tip = f"{name}: {nice_bytes(size)}, made by instruction {start}, last read by {end}"
        if end >= length:
            tip = f"{name}: {nice_bytes(size)}, made by instruction {start}, kept to the end"
        out.append(
            f'<rect class="{cls}" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1.5):.1f}" '
            f'height="{max(row - 2, 2)}" fill-opacity="{shade:.2f}">'
            f"<title>{html_text(tip)}</title></rect>"
        )
        if named:
            label = name if len(name) <= 30 else "…" + name[-29:]
            out.append(
                f'<text class="barname" x="{LEFT - 6}" y="{y + row - 3}" '
                f'text-anchor="end">{html_text(label)}</text>'
            )
    # the schedule axis
    base = height - 20
    out.append(f'<line class="axisline" x1="{LEFT}" y1="{base}" x2="{LEFT + WIDTH}" y2="{base}"/>')
    for pos in _ticks(length):
        out.append(
            f'<text class="axis" x="{x(pos + 0.5):.1f}" y="{base + 13}" '
            f'text-anchor="middle">{pos}</text>'
        )
    out.append(
        f'<text class="axis" x="{LEFT - 6}" y="{base + 13}" text-anchor="end">instruction</text>'
    )
    out.append("</svg>")
    shown = (
        f"all {len(intervals):,} values"
        if len(chosen) == len(intervals)
        else f"{len(chosen):,} of {len(intervals):,} values: those alive at the peak, "
        "then the largest"
    )
    buffers = ""
    if plan.buffers:
        buffers = f"; {len(plan.buffers):,} reused buffers of {nice_bytes(plan.buffer_bytes)}"
    text = (
        f"Peak {nice_bytes(plan.peak_bytes)} alive at once, against "
        f"{nice_bytes(plan.naive_bytes)} if nothing were freed"
        f"{buffers}."
        f" Bars: {shown} (orange: alive at the peak). {caption}"
    )
    return f'<p class="memnote">{html_text(text.strip())}</p>\n' + "".join(out)


def _choose_bars(intervals, at_peak) -> list[int]:
    if len(intervals) <= MAX_BARS:
        return list(range(len(intervals)))
    by_size = sorted(range(len(intervals)), key=lambda i: -intervals[i][2])
    chosen = sorted(at_peak, key=lambda i: -intervals[i][2])[:MAX_BARS]
    taken = set(chosen)
    for i in by_size:
        if len(chosen) >= MAX_BARS:
            break
        if i not in taken:
            chosen.append(i)
            taken.add(i)
    return chosen


def _ticks(length: int) -> list[int]:
    """About six round positions along 0..length."""
    if length <= 6:
        return list(range(length + 1))
    raw = length / 6
    step = 10 ** int(np.floor(np.log10(raw)))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    return list(range(0, length + 1, int(step)))
