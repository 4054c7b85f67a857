"""Mini-batches for training loops: `for xb, yb in sg.data.batches(X, Y, 128): ...`."""

from __future__ import annotations

import numpy as np


def batches(X, y=None, batch_size=32, shuffle=True, rng=None, drop_last=False) -> Batches:
    """(X[i], y[i]) slices of `batch_size` rows (just X[i] when y is None), to loop over.

    As a PyTorch DataLoader, the result can be looped over again, for another epoch,
    and `shuffle` gives each loop a new order: from `rng` (a numpy Generator, or a
    seed, for a fixed sequence of orders), else from sg.nn.init's shared generator,
    so sg.nn.init.seed(n) fixes it. The last batch may be smaller unless
    `drop_last`. The arguments are checked here, at the call, not at the first batch.
    """
    X = np.asarray(X)
    if X.ndim == 0:
        raise TypeError(f"X must hold rows, one per example, got the scalar {X.item()!r}")
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
    if shuffle and not isinstance(rng, np.random.Generator):
        if rng is None:
            from symgraph.nn import init  # the shared, seedable generator

            rng = init.generator()
        else:
            rng = np.random.default_rng(rng)
    return Batches(X, y, int(batch_size), rng if shuffle else None, drop_last)


class Batches:
    """What batches() gives: each loop over it is one epoch, in a new order when shuffled.
    next() on it takes the batches of the current loop one at a time."""

    def __init__(self, X, y, batch_size, rng, drop_last):
        self.X, self.y, self.batch_size, self.rng, self.drop_last = X, y, batch_size, rng, drop_last
        self._current = None  # the loop next() goes through

    def __iter__(self):
        order = np.arange(len(self.X))
        if self.rng is not None:
            self.rng.shuffle(order)
        return _slices(self.X, self.y, order, self.batch_size, self.drop_last)

    def __next__(self):
        if self._current is None:
            self._current = iter(self)
        return next(self._current)

    def __len__(self):
        """The number of batches in one loop."""
        full, rest = divmod(len(self.X), self.batch_size)
        return full if self.drop_last or not rest else full + 1


def _slices(X, y, order, batch_size, drop_last):
    """One loop's batches, in `order`."""
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield (X[index], y[index]) if y is not None else X[index]
