"""Initial values for parameters, as NumPy arrays, from one seedable generator.

    sg.nn.init.seed(0)                        # the same numbers every run
    W = sg.Variable(sg.nn.init.glorot_uniform((784, 10)), name="W")

Every function also takes `rng=` (a numpy.random.Generator, or an int seed for
a new one) to use instead of the shared one. The shared generator starts seeded with 0, so a script that
never calls seed() is still reproducible.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)


def seed(n: int) -> None:
    """Restart the shared generator from seed `n`."""
    global _rng
    _rng = np.random.default_rng(n)


def generator() -> np.random.Generator:
    """The shared generator (for code that needs random numbers of its own, e.g. Dropout)."""
    return _rng


def as_generator(rng) -> np.random.Generator:
    """The generator `rng=` means: the shared one for None, a new one for an int seed
    (as sg.data.batches takes it), or the Generator given."""
    if rng is None:
        return _rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}: {rng!r}"
    )


def _shape(shape) -> tuple:
    return (int(shape),) if np.isscalar(shape) else tuple(int(d) for d in shape)


def glorot_uniform(shape, dtype="float32", rng=None, gain=1.0) -> np.ndarray:
    """Uniform in [-a, a] with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Keeps the variance of activations about the same from layer to layer;
    TF1's and Keras's default for dense layers.
    """
    shape = _shape(shape)
    fan_in = shape[0] if shape else 1
    fan_out = shape[1] if len(shape) > 1 else fan_in
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    limit = gain * np.sqrt(6.0 / ((fan_in + fan_out) * receptive))
    return as_generator(rng).uniform(-limit, limit, size=shape).astype(dtype)


def normal(shape, std=1.0, mean=0.0, dtype="float32", rng=None) -> np.ndarray:
    """Gaussian values with the given mean and standard deviation."""
    return as_generator(rng).normal(mean, std, size=_shape(shape)).astype(dtype)


def uniform(shape, low=-1.0, high=1.0, dtype="float32", rng=None) -> np.ndarray:
    """Uniform values in [low, high)."""
    return as_generator(rng).uniform(low, high, size=_shape(shape)).astype(dtype)


def zeros(shape, dtype="float32") -> np.ndarray:
    """Zeros (the usual start for biases)."""
    return np.zeros(_shape(shape), dtype=dtype)
