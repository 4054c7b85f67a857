"""Neural-network ops: softmax, log_softmax, cross-entropy, embeddings, one_hot, mse.

These are the places where the textbook formula is numerically dangerous
(exp overflows for logits around 100), so each kernel subtracts the row's
max first. softmax_cross_entropy is one op, not log_softmax + pick + mean,
because its gradient then fuses into one simple expression: softmax - onehot.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from symgraph.errors import ShapeError, shape_str
from symgraph.graph import Node, as_node, checks_for, make_node
from symgraph.ops.base import Op, is_float, known_dtype, normalize_one_axis, shapes_agree
from symgraph.ops.math import exp
from symgraph.ops.reduce import divide_by_count, divided_by_count, mean
from symgraph.ops.reduce import sum as reduce_sum
from symgraph.ops.shape import concat, reshape


def _stable_softmax(x, axis, out=None):
    z = np.subtract(x, np.max(x, axis=axis, keepdims=True), out=out)
    np.exp(z, out=z)
    z /= np.sum(z, axis=axis, keepdims=True)
    return z


class Scratch:
    """A work array an instruction keeps from one run to the next.

    Some kernels need a big temporary that is not their result (the exponentials
    inside a cross-entropy). A fresh array of a few hundred kilobytes on every run
    costs more than the arithmetic on it: NumPy asks the system for new memory, and
    each page faults when first touched (measured: 0.73 ms instead of 0.25 ms for a
    (1024, 64) cross-entropy). Such an op says what it needs (`Op.workspace`), and
    the memory planner hands the instruction a region of the arena for it
    (`scratch=`, an array), shared with the other values of the run. A kernel run
    without a plan gets a Scratch from `kernel()` instead: the array is made on the
    first run and reused after.
    """

    def __init__(self):
        self.array = None

    def get(self, shape, dtype) -> np.ndarray:
        if self.array is None or self.array.shape != shape or self.array.dtype != dtype:
            self.array = np.empty(shape, dtype)
        return self.array


def _work_array(scratch, shape, dtype) -> np.ndarray:
    """The kernel's work array: the planned one (an array), its own Scratch, or a new one."""
    if isinstance(scratch, np.ndarray):
        return scratch
    return (scratch or Scratch()).get(shape, dtype)


def _check_ids(ids, size, what) -> np.ndarray:
    """Ids must be in [0, size): NumPy would wrap negatives silently. Returns them as an
    array (a Python int, from `sg.one_hot(2, 3)`, arrives as an int)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        bad = ids[(ids < 0) | (ids >= size)].flat[0]
        raise IndexError(f"{what} {bad} is out of range: valid ids are 0..{size - 1}")
    return ids


class Softmax(Op):
    """exp(x) / sum(exp(x)) along `axis`, computed stably."""

    writes_out = True  # forward accepts out=, a buffer to write the result into

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, x, *, axis):
        _need_float(x, "softmax")
        return x.shape, x.dtype

    def forward(self, x, *, axis, out=None):
        return _stable_softmax(x, axis, out)

    def backward(self, node, grad):
        axis = node.attrs["axis"]
        s = node  # reuse the output: ds = s * (g - sum(g * s))
        return (s * (grad - reduce_sum(grad * s, axis=axis, keepdims=True)),)


class LogSoftmax(Op):
    """x - log(sum(exp(x))) along `axis`, computed stably."""

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, x, *, axis):
        _need_float(x, "log_softmax")
        return x.shape, x.dtype

    def forward(self, x, *, axis):
        z = x - np.max(x, axis=axis, keepdims=True)
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))

    def backward(self, node, grad):
        axis = node.attrs["axis"]
        return (grad - exp(node) * reduce_sum(grad, axis=axis, keepdims=True),)


def _check_labels_fit(logits, labels) -> None:
    """Labels must have the logits' shape without the class dim. Checked by the loss and
    by its gradient: a step that fetches only the update runs the gradient alone, and
    the compiler checks each op's rule again with the shapes fed."""
    if logits.ndim < 1 or not shapes_agree(labels.shape, logits.shape[:-1]):
        raise ShapeError(
            f"softmax_cross_entropy of logits {logits.name} {shape_str(logits.shape)} and "
            f"labels {labels.name} {shape_str(labels.shape)}: labels must have the logits' "
            "shape without the last (class) dim",
            hint="for logits (batch, classes) give labels of shape (batch,): one label a row",
        )


def _labels_for(labels, logits) -> np.ndarray:
    """The labels as ids checked to be in range and one per row of logits: indexing with
    fewer would broadcast them over the rows without a word."""
    labels = _check_ids(labels, logits.shape[-1], "label")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"labels of shape {labels.shape} for logits of shape {logits.shape}: "
            "one label is needed for each row of logits"
        )
    return labels


def _picked(x, labels) -> np.ndarray:
    """x[..., label] at each position, of labels' shape: plain indexing of the rows, which
    costs half of what np.take_along_axis does (it runs every step of training)."""
    rows = x.reshape(-1, x.shape[-1])
    return rows[np.arange(rows.shape[0]), labels.reshape(-1)].reshape(labels.shape)


def _mean(values) -> np.ndarray:
    """np.mean's value (the same pairwise sum, then a division) without its Python-level
    bookkeeping, a quarter of its cost on a loss's few numbers. np.mean itself for none
    (nan, with its warning) and for float16 (which it sums in float32)."""
    if values.size == 0 or values.dtype == np.float16:
        return np.mean(values)
    return np.add.reduce(values, axis=None) / values.size


class SoftmaxCrossEntropy(Op):
    """Mean over all positions of -log softmax(logits)[label]; logits (..., classes), labels (...)."""

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, logits, labels):
        _need_float(logits, "softmax_cross_entropy logits")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ShapeError(
                f"softmax_cross_entropy needs integer labels, got {labels.name} of dtype "
                f"{labels.dtype}",
                hint="give the labels Placeholder dtype='int64' (class ids, not one-hot rows)",
            )
        _check_labels_fit(logits, labels)
        return (), logits.dtype

    def workspace(self, logits, labels):
        return logits.shape, logits.dtype  # z, below

    def forward(self, logits, labels, scratch=None):
        labels = _labels_for(labels, logits)
        # z = logits - max, then exp(z) in the same array: one big temporary, not two
        z = _work_array(scratch, logits.shape, logits.dtype)
        np.subtract(logits, np.max(logits, axis=-1, keepdims=True), out=z)
        picked = _picked(z, labels)
        log_norm = np.log(np.sum(np.exp(z, out=z), axis=-1))
        return np.asarray(_mean(log_norm - picked), dtype=logits.dtype)

    def kernel(self, **attrs):
        return functools.partial(self.forward, scratch=Scratch())

    def backward(self, node, grad):
        logits, labels = node.inputs
        return (make_node(SoftmaxCrossEntropyGrad(), (logits, labels)) * grad, None)


class SoftmaxCrossEntropyGrad(Op):
    """(softmax(logits) - onehot(labels)) / N: the whole gradient of the mean cross-entropy."""

    writes_out = True  # forward accepts out=, a buffer to write the result into
    writes_over = (0,)  # out may be the logits' memory: the row max is taken before out is written

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, logits, labels):
        _check_labels_fit(logits, labels)
        return logits.shape, logits.dtype

    def forward(self, logits, labels, out=None):
        labels = _labels_for(labels, logits)
        s = _stable_softmax(logits, -1, out)
        rows = s.reshape(-1, s.shape[-1])  # a view: every position, one row each
        rows[np.arange(rows.shape[0]), labels.reshape(-1)] -= 1  # minus the one-hot
        divide_by_count(s, max(labels.size, 1))  # the loss is a mean over positions
        return s

    def backward(self, node, grad):
        logits, labels = node.inputs
        s = softmax(logits)
        return (divided_by_count(s * (grad - reduce_sum(grad * s, axis=-1, keepdims=True)), labels, None), None)


# The compiler's share_softmax pass (compiler/passes/share_softmax.py) runs a training
# step's loss and its gradient from one set of exponentials instead of two:
#
#     m = max(logits, -1)     p = picked_logits(logits, labels)
#     e = exp(logits - m)     s = sum(e, -1)
#     loss = cross_entropy_from_sums(p, m, s)
#     grad = cross_entropy_grad_from_sums(e, labels, s)
#
# The three ops below are picked_logits and those last two. Only that pass makes
# them, after gradients are built, so they need no gradient of their own.


class PickedLogits(Op):
    """logits[..., label] for each position, kept as a column (..., 1): the labelled
    entries a cross-entropy needs, picked before anything else overwrites the logits."""

    registered = False  # made only by the share_softmax pass, never by users
    differentiable = False
    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, logits, labels):
        raise NotImplementedError("made by the compiler, with its shape")

    def forward(self, logits, labels):
        labels = _labels_for(labels, logits)
        return _picked(logits, labels)[..., None]


class CrossEntropyFromSums(Op):
    """The mean cross-entropy, given each position's labelled logit p, its row's max m
    and its row's sum s of exp(logits - m): -log softmax(logits)[label] = log(s) - (p - m)."""

    registered = False  # made only by the share_softmax pass, never by users
    differentiable = False
    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, picked, row_max, row_sums):
        raise NotImplementedError("made by the compiler, with its shape")

    def forward(self, picked, row_max, row_sums):
        # the same operations, in the same order, as SoftmaxCrossEntropy: the same loss
        per_position = np.log(row_sums) - (picked - row_max)
        return np.asarray(_mean(per_position), dtype=row_sums.dtype)


class CrossEntropyGradFromSums(Op):
    """The cross-entropy's gradient, given the exponentials e = exp(logits - max) and
    their row sums s: (e / s - onehot(labels)) / N, N the number of positions."""

    registered = False  # made only by the share_softmax pass, never by users
    differentiable = False
    writes_out = True  # forward accepts out=, a buffer to write the result into
    writes_over = (0,)  # out may be the exponentials' memory: the first step is a ufunc
    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, exps, labels, row_sums):
        raise NotImplementedError("made by the compiler, with its shape")

    def forward(self, exps, labels, row_sums, out=None):
        labels = _labels_for(labels, exps)
        # the same operations, in the same order, as SoftmaxCrossEntropyGrad: the same gradient
        out = np.divide(exps, row_sums, out=out)  # the softmax
        rows = out.reshape(-1, out.shape[-1])  # a view: every position, one row each
        rows[np.arange(rows.shape[0]), labels.reshape(-1)] -= 1  # minus the one-hot
        divide_by_count(out, max(labels.size, 1))  # the loss is a mean over positions
        return out


class EmbeddingLookup(Op):
    """Rows of params picked by integer ids: params (vocab, dim), ids (...) -> (..., dim)."""

    writes_out = True  # forward accepts out=, a buffer to write the result into

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, params, ids):
        if params.ndim != 2:
            raise ShapeError(
                f"embedding_lookup needs params of shape (vocab, dim), got {params.name} "
                f"{shape_str(params.shape)}",
                hint="give a 2-D table, one row a vocabulary entry, e.g. sg.reshape(params, (vocab, -1))",
            )
        if not np.issubdtype(ids.dtype, np.integer):
            raise ShapeError(
                f"embedding_lookup needs integer ids, got {ids.name} of dtype {ids.dtype}",
                hint="give the ids Placeholder dtype='int64'",
            )
        return ids.shape + params.shape[1:], params.dtype

    def forward(self, params, ids, out=None):
        ids = _check_ids(ids, params.shape[0], "embedding id")
        # mode="clip": the ids were checked just above; with the default mode NumPy
        # would write into a hidden copy of `out` first, to check them again
        return np.take(params, ids, axis=0, out=out, mode="clip")

    def backward(self, node, grad):
        params, ids = node.inputs
        return make_node(EmbeddingGrad(), (grad, ids, params)), None


class EmbeddingGrad(Op):
    """Scatter-add: zeros shaped like params, with each id's row of grad added in
    (an id that appears twice gets both contributions)."""

    writes_out = True  # forward accepts out=, a buffer to write the result into

    fresh_output = True  # returns a new array, never a view of an input

    def infer(self, grad, ids, like):
        return like.shape, grad.dtype

    def workspace(self, grad, ids, like):
        dim = like.shape[1]
        if dim == 0:
            return None
        return (math.prod(grad.shape) // dim, dim), grad.dtype  # sorted_rows, below

    def forward(self, grad, ids, like, out=None, scratch=None):
        ids = _check_ids(ids, like.shape[0], "embedding id").reshape(-1)
        rows = grad.reshape(-1, like.shape[1])
        if out is None:
            out = np.zeros(like.shape, dtype=grad.dtype)
        else:
            out[...] = 0  # a reused buffer: clear what the last run left
        if ids.size == 0:
            return out
        # The plain way is np.add.at(out, ids, rows), a general scatter that is slow
        # (about 0.3 ms for 1,024 rows). Sorting the ids puts equal ids next to each
        # other; np.add.reduceat then sums each run of equal ids in one call (4x
        # faster). The sort is stable, so each id's rows are still added in order.
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
        # mode="clip": `order` is a permutation, always in range; the default mode
        # would check that by writing to a hidden copy of `out` first
        sorted_rows = np.take(rows, order, axis=0, mode="clip",
                              out=_work_array(scratch, rows.shape, rows.dtype))
        out[sorted_ids[starts]] = np.add.reduceat(sorted_rows, starts, axis=0)
        return out

    def kernel(self, **attrs):
        return functools.partial(self.forward, scratch=Scratch())

    def backward(self, node, grad):
        _, ids, _ = node.inputs
        return embedding_lookup(grad, ids), None, None

    @classmethod
    def sum_gradients(cls, parts):
        # A table looked up at every step of an RNN gets one gradient table per step;
        # one scatter-add of every step's rows makes the sum without them.
        like = parts[0].inputs[2]
        if any(p.inputs[2] is not like for p in parts):
            return None
        # The rows in the order their ids were made: an RNN's first step first, whatever
        # order autodiff met them in (the sum is the same). The compiler's merge_matmuls
        # lays every step's gradient out in that order too, so the concatenations can
        # be one.
        parts = sorted(parts, key=lambda p: p.inputs[1].id)
        rows = [g if g.ndim == 2 else reshape(g, (-1, like.shape[1])) for g, _, _ in (p.inputs for p in parts)]
        ids = [i if i.ndim == 1 else reshape(i, (-1,)) for _, i, _ in (p.inputs for p in parts)]
        return make_node(EmbeddingGrad(), (concat(rows), concat(ids), like))


class OneHot(Op):
    """Integer labels (...) -> (..., depth) rows of zeros with a 1 at the label."""

    fresh_output = True  # returns a new array, never a view of an input

    differentiable = False

    def infer(self, labels, *, depth, dtype):
        if not np.issubdtype(labels.dtype, np.integer):
            raise ShapeError(
                f"one_hot needs integer labels, got {labels.name} of dtype {labels.dtype}",
                hint="cast the labels first: sg.cast(labels, 'int64'), or declare them with dtype='int64'",
            )
        return labels.shape + (depth,), np.dtype(dtype)

    def forward(self, labels, *, depth, dtype):
        labels = _check_ids(labels, depth, "label")
        return (labels[..., None] == np.arange(depth)).astype(dtype)

    def backward(self, node, grad):
        return (None,)


def _need_float(x, what):
    if not is_float(x.dtype):
        raise ShapeError(
            f"{what} needs a float tensor, got {x.name} of dtype {x.dtype}",
            hint="cast it first: sg.cast(x, 'float32')",
        )


def softmax(x, axis=-1, name=None) -> Node:
    """exp(x) / sum(exp(x)) along `axis`, computed stably (op Softmax)."""
    x = as_node(x)
    with checks_for(Softmax(), (x,), name):
        axis = normalize_one_axis(axis, x.ndim, of=x)
    return make_node(Softmax(), (x,), {"axis": axis}, name=name)


def log_softmax(x, axis=-1, name=None) -> Node:
    """x - log(sum(exp(x))) along `axis`, computed stably (op LogSoftmax)."""
    x = as_node(x)
    with checks_for(LogSoftmax(), (x,), name):
        axis = normalize_one_axis(axis, x.ndim, of=x)
    return make_node(LogSoftmax(), (x,), {"axis": axis}, name=name)


def softmax_cross_entropy(logits, labels, name=None) -> Node:
    """Mean cross-entropy of integer `labels` under softmax(`logits`), as in
    PyTorch's F.cross_entropy and TF1's sparse_softmax_cross_entropy_with_logits + mean."""
    return make_node(SoftmaxCrossEntropy(), (logits, labels), name=name)


def embedding_lookup(params, ids, name=None) -> Node:
    """Rows of `params` (vocab, dim) picked by integer `ids`: (...,) -> (..., dim) (op EmbeddingLookup)."""
    return make_node(EmbeddingLookup(), (params, ids), name=name)


def one_hot(labels, depth, dtype="float32", name=None) -> Node:
    """Integer labels (...) -> (..., depth) rows with a 1 at the label; no gradient (op OneHot)."""
    labels = as_node(labels)
    with checks_for(OneHot(), (labels,), name):
        dtype = known_dtype(dtype, f"one_hot of {labels.name} to dtype")
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
            raise ShapeError(
                f"one_hot of {labels.name}: depth must be a whole number of classes, at least 1, "
                f"got {depth!r}",
                hint="give the number of classes as a Python int: sg.one_hot(labels, 10)",
            )
    return make_node(OneHot(), (labels,), {"depth": int(depth), "dtype": dtype.name}, name=name)


def mse(pred, target, name=None) -> Node:
    """Mean squared error: mean((pred - target) ** 2) over every element.

    pred and target must have one shape (a None dim fits any size), or target be a
    single number. (N, 1) predictions against (N,) targets would broadcast to (N, N),
    every prediction compared with every target: TF1 refuses that, PyTorch warns.
    """
    pred, target = as_node(pred), as_node(target)
    with checks_for("mse", (pred, target), name):
        if target.shape != () and not shapes_agree(pred.shape, target.shape):
            raise ShapeError(
                f"mse of {pred.name} {shape_str(pred.shape)} and {target.name} {shape_str(target.shape)}: "
                "the shapes differ, and broadcasting them would compare every prediction with "
                "every target",
                    hint="reshape one to the other's shape, e.g. sg.reshape(target, (-1, 1)) for "
                "(N, 1) predictions",
            )
    diff = pred - target
    return mean(diff * diff, name=name or "mse")
