"""Kernels that keep a work array between runs (ops/nn.py Scratch) give the same
answers as a fresh forward, run after run, and really reuse the array."""

from __future__ import annotations

import numpy as np

from symgraph.ops.nn import EmbeddingGrad, Scratch, SoftmaxCrossEntropy


def test_cross_entropy_kernel_reuses_its_scratch_and_stays_right():
    rng = np.random.default_rng(0)
    kernel = SoftmaxCrossEntropy().kernel()
    scratch = kernel.keywords["scratch"]
    seen = []
    for shape in [(6, 5), (6, 5), (3, 4), (6, 5)]:
        logits = rng.normal(size=shape) * 10
        labels = rng.integers(0, shape[1], size=shape[0])
        z = logits - logits.max(axis=1, keepdims=True)
        expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(shape[0]), labels])
        np.testing.assert_allclose(kernel(logits, labels), expected, rtol=1e-13)
        seen.append(scratch.array)
    assert seen[0] is seen[1]  # same shape: the array made on the first run is reused
    assert seen[2] is not seen[1] and seen[2].shape == (3, 4)


def test_embedding_gradient_kernel_reuses_its_scratch_and_stays_right():
    rng = np.random.default_rng(1)
    kernel = EmbeddingGrad().kernel()
    like = np.zeros((5, 3))
    arrays = []
    for _ in range(3):
        ids = rng.integers(0, 5, size=8)
        grad = rng.normal(size=(8, 3))
        expected = np.zeros((5, 3))
        np.add.at(expected, ids, grad)
        np.testing.assert_allclose(kernel(grad, ids, like), expected, rtol=1e-13)
        arrays.append(kernel.keywords["scratch"].array)
    assert arrays[0] is arrays[1] is arrays[2]


def test_a_scratch_is_remade_for_a_new_shape_or_dtype():
    scratch = Scratch()
    a = scratch.get((2, 3), np.float64)
    assert scratch.get((2, 3), np.float64) is a
    assert scratch.get((2, 3), np.float32).dtype == np.float32
    assert scratch.get((4,), np.float32).shape == (4,)
