"""The figures the passes weigh a rewrite by, in one place.

Two passes must agree on how an unrolled RNN's steps are cut into chunks
(split_rows computes the output layer's gradient a chunk at a time, and
merge_matmuls joins each chunk's gradient terms), so the rule lives here.
"""

from __future__ import annotations

#: what one kernel call costs, counted as elements copied: a NumPy call on small
#: arrays takes about 2 us, the time to copy some 2,000 float64 numbers
CALL_COST = 2_000

#: how many rows a chunk of a product gathers. A matrix product over 512 rows
#: runs about as fast per row as one over 1,024 or more, so cutting a long product
#: into chunks of 512 rows costs only a few calls, and saves the memory of all but
#: one chunk. (Measured on the W2 RNN, 1,024 rows a product: chunks of 512 make its
#: step 1% slower and its peak 8% lower; chunks of 256, 4% slower and 12% lower.)
CHUNK_ROWS = 512


def row_chunks(rows: list[int]) -> list[tuple[int, int]]:
    """Cut parts of `rows` rows each, in order, into runs (start, stop) of at least
    CHUNK_ROWS rows. A last run shorter than half that joins the run before it, so
    no chunk is a product too small to be worth its call.

    >>> row_chunks([32] * 35)  # 16 parts of 32 rows make 512; the last 3 join the 16 before
    [(0, 16), (16, 35)]
    """
    runs, start, count = [], 0, 0
    for i, r in enumerate(rows):
        count += r
        if count >= CHUNK_ROWS:
            runs.append((start, i + 1))
            start, count = i + 1, 0
    if start < len(rows):
        if runs and count < CHUNK_ROWS // 2:
            runs[-1] = (runs[-1][0], len(rows))
        else:
            runs.append((start, len(rows)))
    return runs
