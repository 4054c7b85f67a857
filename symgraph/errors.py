"""symgraph's own error types, and the one way their messages are written.

Every message has the same three parts, so a reader always knows where to look:

    ShapeError: matmul of x (None, 784) and W (128, 10): inner dimensions 784 and 128 differ
      node 'dense1/matmul' (matmul) created at train.py:14
      fix: make the second dimension of x equal the first dimension of W

a headline saying what is wrong (with the shapes involved), the Node with its
op and the user's line that created it, and what to do about it.
"""

from __future__ import annotations


class SymgraphError(Exception):
    """Base class of every error symgraph raises on purpose."""

    def __init__(self, headline: str, node=None, hint: str | None = None, where: str | None = None):
        self.headline = headline
        self.node = node
        self.hint = hint
        lines = [headline]
        if node is not None:
            lines.append("  " + describe(node, where))
        if hint:
            lines.append("  fix: " + hint)
        super().__init__("\n".join(lines))


class ShapeError(SymgraphError, ValueError):
    """Shapes or dtypes that do not fit an op; raised when the Node is built."""


class FeedError(SymgraphError, ValueError):
    """A feed_dict entry that is missing, of the wrong shape or dtype, or not a Node."""


class GraphError(SymgraphError):
    """A graph that cannot be run: a cycle, a Node of another Graph, two updates of one Variable."""


class FetchError(GraphError, TypeError):
    """Something passed to Session.run as a fetch that is not a Node of the Session's Graph."""


class GradientError(SymgraphError):
    """A gradient that cannot be built: non-scalar y without grad_y, an unconnected x, an op with no gradient."""


class RunError(SymgraphError, RuntimeError):
    """A kernel failed while a Session ran it; no variable was changed."""


class NumericError(RunError):
    """Debug mode found NaN or Inf; the message names the first node that made it."""


class CheckpointError(SymgraphError):
    """A checkpoint file that is missing, corrupt, or does not match the graph's variables."""


class RenderError(SymgraphError):
    """A picture that cannot be drawn: Graphviz's dot missing or failing, or a graph too big."""


def describe(node, where: str | None = None) -> str:
    """One line naming a Node, its op, and the user's line that created it; and for a
    gradient Node a second, naming the forward Node it is part of the gradient of: its
    own line is the gradients() or minimize() call, which would not say which op."""
    verb = where or "created at"
    line = f"node '{node.name}' ({node.op.name}) {verb} {node.location}"
    forward = getattr(node, "grad_of", None)
    if forward is not None:
        line += f"\n  part of the gradient of node '{forward.name}' ({forward.op.name}) created at {forward.location}"
    return line


def shape_str(shape) -> str:
    """A shape as a person writes it: (None, 784), (10,), ()."""
    if shape is None:
        return "(unknown)"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    if len(shape) == 1:
        inner += ","
    return f"({inner})"
