"""Pictures of graphs: `to_dot` (DOT text, no system program needed) and `render` (a file).

    sg.render(loss, "loss.svg")                          # loss and all it depends on
    sg.render(graph, "model.png", names=True, shapes="edge")
    sg.render(graph, "rnn.svg", collapse=["rnn/step_*"])  # one box per step
    sg.render(loss, "values.svg", session=sess, feed_dict={x: X})

records.py turns any target into vertex records, collapse.py groups scopes
into boxes, styles.py says how each kind and origin looks, dot.py builds
the DOT, render.py runs Graphviz's `dot`, jupyter.py shows pictures inline.
"""

from symgraph.errors import RenderError
from symgraph.viz.dot import MAX_NODES, build, to_dot
from symgraph.viz.jupyter import attach as attach_display
from symgraph.viz.records import Vertex, vertices_of
from symgraph.viz.render import find_dot, render, svg

__all__ = [
    "MAX_NODES",
    "RenderError",
    "Vertex",
    "attach_display",
    "build",
    "find_dot",
    "render",
    "svg",
    "to_dot",
    "vertices_of",
]
