"""Checking a value fed for a Node: the one check Session.run, make_callable and
Program.run share, so a feed is turned into an array, and refused, the same way
whichever of them is given it."""

from __future__ import annotations

import numpy as np

from symgraph.errors import FeedError, shape_str
from symgraph.ops.base import shapes_agree


def _check_is_a_value(node, value) -> None:
    """A Node or None is not a value to feed: say so, with what to do instead."""
    from symgraph.graph import Node  # (graph.py imports this module)

    if isinstance(value, Node):
        raise FeedError(
            f"the value fed for {node.name} is the Node {value.name}, not a value: a feed "
            "gives a Placeholder its numbers for this run",
            node=node,
            hint=f"feed an array; to compute {value.name} first, fetch it with sess.run({value.name}) "
            f"and feed the result, or build the graph from {value.name} instead of {node.name}",
        )
    if value is None:
        raise FeedError(
            f"the value fed for {node.name} is None",
            node=node,
            hint=f"feed an array of shape {shape_str(node.shape)}, or leave {node.name} out of the "
            "feed_dict (a Placeholder with a default then takes its default)",
        )


def _fed(value) -> str:
    """A short description of a fed value for a message: its type, and its repr cut short."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def converted_to(array: np.ndarray, dtype: np.dtype):
    """(array as dtype, None), or (None, (what is wrong, what to do)) when some value
    does not fit: an int out of an int dtype's range (astype would wrap it), or a
    finite number too large for a float dtype (astype would make it inf). A fed value
    and a Placeholder's default are checked this way."""
    if (
        array.dtype.kind in "iu"
        and dtype.kind in "iu"
        and array.size
        and (array.min() < np.iinfo(dtype).min or array.max() > np.iinfo(dtype).max)
    ):
        return None, (
            f"{array.dtype} values given do not fit in it (they range from {array.min()} to "
            f"{array.max()})",
            f"give values within the range of {dtype}, or declare the Placeholder wider",
        )
    with np.errstate(over="ignore"):  # an overflow is said below
        converted = array.astype(dtype)
    if (
        array.dtype.kind in "fiu"
        and dtype.kind == "f"
        and np.isfinite(array).all()
        and not np.isfinite(converted).all()
    ):
        return None, (
            f"{array.dtype} values given are too large for it (up to {np.abs(array).max():.3g}; "
            f"{dtype} goes up to {np.finfo(dtype).max:.3g})",
            f"scale the data, or declare the Placeholder with dtype='{array.dtype}'",
        )
    return converted, None


def check_feed_value(node, value) -> np.ndarray:
    """`value` as an array of `node`'s dtype, checked against its declared shape
    (a None dim takes any size); a FeedError that says what to do otherwise."""
    # the usual case, checked quickly: an array of the right dtype and shape
    if (
        type(value) is np.ndarray
        and value.dtype == node.dtype
        and shapes_agree(node.shape, value.shape)
    ):
        return value
    _check_is_a_value(node, value)
    try:
        array = np.asarray(value)
    except ValueError:  # NumPy 2: "setting an array element with a sequence ... inhomogeneous"
        raise FeedError(
            f"the value fed for {node.name} is not a rectangular array: its rows differ in length",
            node=node,
            hint=f"give every row the same length, to fit {node.name}'s shape {shape_str(node.shape)}",
        ) from None
    except Exception as e:
        raise FeedError(
            f"cannot turn the value fed for {node.name} into an array: {e}",
            node=node,
            hint="feed a NumPy array, or a number or nested list of numbers",
        ) from None
    if array.dtype == object:
        raise FeedError(
            f"the value fed for {node.name} is not an array of numbers: {_fed(value)}",
            node=node,
            hint=f"feed numbers of {node.name}'s dtype {node.dtype}"
            + (f" that fit in it (an int above {np.iinfo(np.int64).max} does not fit int64)"
               if node.dtype.kind in "iu" else ""),
        )
    if array.dtype != node.dtype:
        if not np.can_cast(array.dtype, node.dtype, "same_kind"):
            raise FeedError(
                f"{node.name} expects {node.dtype} but was fed {array.dtype}",
                node=node,
                hint=f"convert the value first: np.asarray(value, dtype='{node.dtype}')",
            )
        converted, problem = converted_to(array, node.dtype)
        if problem is not None:
            headline, hint = problem
            raise FeedError(f"{node.name} expects {node.dtype}, and the {headline}", node=node, hint=hint)
        array = converted
    if not shapes_agree(node.shape, array.shape):
        raise FeedError(
            f"{node.name} expects shape {shape_str(node.shape)} but was fed {shape_str(array.shape)}",
            node=node,
            hint=_shape_hint(node),
        )
    return array


def _shape_hint(node) -> str:
    """What to do about a fed value of the wrong shape: None dims are the way out, if any."""
    if None in node.shape:
        return "None in the expected shape takes any size; the other dims must match"
    hint = f"feed an array of shape {shape_str(node.shape)}"
    if node.op.name == "placeholder":
        hint += ", or declare the Placeholder with None for a dim that varies"
    return hint
