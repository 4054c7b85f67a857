"""Values for a picture: run the drawn Nodes once, and change nothing doing it.

The run commits no update and leaves every random stream (Dropout's) where it
was (Session._run_changing_nothing), so drawing a picture changes nothing the
next run sees. We fetch only Nodes that need no update Node (an update has no
value to show), and only those the feeds can compute: a Placeholder that was not fed, and has no
`default` to stand in, is shown as "not fed", and what depends on it is shown
without a value. (One with a default, such as sg.nn.training_flag(), has the value
a run uses: its default.)
"""

from __future__ import annotations

from symgraph.autodiff import ancestors
from symgraph.errors import RenderError
from symgraph.graph import Node, Placeholder
from symgraph.session import Session


def _is_update(node: Node) -> bool:
    return bool(getattr(node.op, "is_update", False)) or node.op.name in ("assign", "group")


def _has_default(node: Node) -> bool:
    """A Placeholder with a `default`: a run that does not feed it uses that value."""
    return getattr(node, "default", None) is not None


def computable(nodes: list[Node], fed) -> list[Node]:
    """The Nodes among `nodes` (creation order) that a run with these feeds can compute
    without running any update."""
    ok: dict[Node, bool] = {}
    # Walk every ancestor in creation order, so each Node is decided after its inputs.
    order = ancestors(nodes)
    for n in order:
        if n in fed or _has_default(n):
            ok[n] = True
        elif isinstance(n, Placeholder) or n.op.name == "placeholder" or _is_update(n):
            ok[n] = False
        else:
            ok[n] = all(ok[i] for i in n.inputs)
    return [n for n in nodes if ok[n]]


def run_values(session, nodes: list[Node], feed_dict=None) -> dict:
    """{Node: value} for every Node in `nodes` the feeds can compute; commits nothing."""
    if not isinstance(session, Session):
        raise RenderError(
            f"session= must be an sg.Session, got {type(session).__name__}",
            hint="pass the Session whose Variable values you want to see",
        )
    feed_dict = dict(feed_dict or {})
    fetch = computable([n for n in nodes if n.graph is session.graph], set(feed_dict))
    if not fetch:
        return {}
    # Not session.run: that would move the Session's random streams on, and a picture
    # would change the next training run's Dropout masks.
    results = session._run_changing_nothing(fetch, feed_dict)
    return dict(zip(fetch, results))
