"""The compiler's passes, one file each, in the order the pipeline runs them.

A pass is a function `ir -> (new_ir, Report)` that never changes its input.
To add one: write the file, then add it to PASSES below. Two files here are not
passes: costs.py (the figures passes weigh a rewrite by) and concatenations.py
(how merge_matmuls lays out what it merges).

Why this order:
  prune      first, so later passes only look at what the fetches need;
  stabilize  before simplify, while the patterns it looks for are still whole;
  simplify   removes the x * 1, x + 0, reshape-to-same-shape that autodiff leaves;
  fold       then computes what became constant;
  cse        so the vertices it compares are in final form;
  share_softmax after cse, which has made a loss's and its gradient's logits (and
             labels) one vertex each, so the pair is found by its inputs;
  split_rows after cse, before merge_matmuls: it cuts a product read step by step
             into chunks, and merge_matmuls then joins each chunk's gradient terms;
  merge_matmuls after cse, which has made the weight's transposes in each step's
             gradient one vertex, so it sees that they all multiply the same W;
  scale_early after merge_matmuls, so a merged weight gradient is one product it can
             see; before fuse, so the scaled factor and the update can still be fused;
  fuse       after everything else, on the graph that will really run.
"""

from symgraph.compiler.passes.cse import cse
from symgraph.compiler.passes.fold import fold
from symgraph.compiler.passes.fuse import fuse
from symgraph.compiler.passes.merge_matmuls import merge_matmuls
from symgraph.compiler.passes.prune import prune
from symgraph.compiler.passes.scale_early import scale_early
from symgraph.compiler.passes.share_softmax import share_softmax
from symgraph.compiler.passes.simplify import simplify
from symgraph.compiler.passes.split_rows import split_rows
from symgraph.compiler.passes.stabilize import stabilize

#: (name, function) in pipeline order; `disable=["name"]` skips one
PASSES = [
    ("prune", prune),
    ("stabilize", stabilize),
    ("simplify", simplify),
    ("fold", fold),
    ("cse", cse),
    ("share_softmax", share_softmax),
    ("split_rows", split_rows),
    ("merge_matmuls", merge_matmuls),
    ("scale_early", scale_early),
    ("fuse", fuse),
]

__all__ = ["PASSES", "cse", "fold", "fuse", "merge_matmuls", "prune", "scale_early", "share_softmax", "simplify", "split_rows", "stabilize"]
