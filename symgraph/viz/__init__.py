"""Pictures of graphs: `to_dot` (DOT text, no system program needed) and `render` (a file).

    sg.render(loss, "loss.svg")                          # loss and all it depends on
    sg.render(graph, "model.png", names=True, shapes="edge")
    sg.render(graph, "rnn.svg", collapse=["rnn/step_*"])  # one box per step
    sg.render(loss, "values.svg", session=sess, feed_dict={x: X})

records.py turns any target into vertex records, values.py runs them for
their values, collapse.py groups scopes into boxes, styles.py says how each
kind and origin looks, labels.py escapes and shortens text, dot.py builds
the DOT, layout.py runs Graphviz's `dot` and writes files, jupyter.py shows
pictures inline.
"""

from symgraph.errors import RenderError
from symgraph.viz.dot import MAX_NODES, Options, build, to_dot
from symgraph.viz.jupyter import attach as attach_display
from symgraph.viz.layout import find_dot, render, svg
from symgraph.viz.records import Vertex, vertices_of

__all__ = [
    "MAX_NODES",
    "Options",
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
