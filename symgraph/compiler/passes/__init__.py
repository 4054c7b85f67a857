"""The compiler's passes, one file each, in the order the pipeline runs them.

A pass is a function `ir -> (new_ir, Report)` that never changes its input.
To add one: write the file, then add it to PASSES below.
"""

from symgraph.compiler.passes.prune import prune

#: (name, function) in pipeline order; `disable=["name"]` skips one
PASSES = [
    ("prune", prune),
]

__all__ = ["PASSES", "prune"]
