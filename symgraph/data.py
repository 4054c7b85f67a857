"""Mini-batches for training loops: `for xb, yb in sg.data.batches(X, Y, 128): ...`."""

from __future__ import annotations

import numpy as np


def batches(X, y=None, batch_size=32, shuffle=True, rng=None, drop_last=False):
    """Yield (X[i], y[i]) slices of `batch_size` rows (just X[i] when y is None).

    Shuffled each call when `shuffle` (with `rng`, a numpy Generator or seed, for
    a fixed order); the last batch may be smaller unless `drop_last`.
    The arguments are checked here, at the call, not at the first batch.
    """
    X = np.asarray(X)
    n = len(X)
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0:
            raise TypeError(
                f"y must hold one label per row of X, got the scalar {y.item()!r}; "
                f"for X alone pass the batch size by name: batches(X, batch_size={y.item()!r})"
            )
        if len(y) != n:
            raise ValueError(f"X has {n} rows but y has {len(y)}")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool):
        raise TypeError(
            f"batch_size must be an int, got {type(batch_size).__name__}: {batch_size!r}; "
            "for a fraction of the rows, round it: int(len(X) / 4)"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.arange(n)
    if shuffle:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        rng.shuffle(order)
    return _slices(X, y, order, batch_size, drop_last)


def _slices(X, y, order, batch_size, drop_last):
    """The generator behind batches(), so that batches() itself checks its arguments eagerly."""
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield (X[index], y[index]) if y is not None else X[index]
