"""The compiler: graph -> IR (ir.py) -> passes (passes/) -> schedule (schedule.py) -> Program."""

from symgraph.compiler.explain import ExplainStep, Explanation, explain
from symgraph.compiler.pipeline import compile, compile_steps
from symgraph.compiler.program import Program

__all__ = ["ExplainStep", "Explanation", "Program", "compile", "compile_steps", "explain"]
