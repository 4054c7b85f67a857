"""The compiler's passes, one file each, in the order the pipeline runs them.

A pass is a function `ir -> (new_ir, Report)` that never changes its input.
To add one: write the file, then add it to PASSES below.

Why this order:
  prune      first, so later passes only look at what the fetches need;
  stabilize  before simplify, while the patterns it looks for are still whole;
  simplify   removes the x * 1, x + 0, reshape-to-same-shape that autodiff leaves;
  fold       then computes what became constant;
  cse        last of the rewrites, so the vertices it compares are in final form;
  fuse       after everything else, on the graph that will really run.
"""

from symgraph.compiler.passes.cse import cse
from symgraph.compiler.passes.fold import fold
from symgraph.compiler.passes.fuse import fuse
from symgraph.compiler.passes.prune import prune
from symgraph.compiler.passes.simplify import simplify
from symgraph.compiler.passes.stabilize import stabilize

#: (name, function) in pipeline order; `disable=["name"]` skips one
PASSES = [
    ("prune", prune),
    ("stabilize", stabilize),
    ("simplify", simplify),
    ("fold", fold),
    ("cse", cse),
    ("fuse", fuse),
]

__all__ = ["PASSES", "cse", "fold", "fuse", "prune", "simplify", "stabilize"]
