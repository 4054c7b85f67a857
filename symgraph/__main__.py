"""The command line: `python -m symgraph COMMAND ...`.

    python -m symgraph render train.py -o graph.svg               # the graph the script built
    python -m symgraph render train.py -o step.svg --first-run    # what its first run computes
    python -m symgraph render train.py -o g.png -- --steps 5      # arguments after -- go to the script
    python -m symgraph explain train.py -o page.html              # its first training run, compiled

Each command runs a user's script with `runpy`, as `python SCRIPT.py` would
(same `__name__ == "__main__"`, `sys.argv` and script folder on `sys.path`),
and looks at the graph it builds. `run_script` below is shared by the
commands: it can stop the script at its Nth `Session.run` and hand back what
that run was asked to fetch.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from dataclasses import dataclass, field

RENDER_HELP = """\
Run SCRIPT and draw the graph it built.

What is drawn:
  by default      the default graph as the script leaves it when it ends: every Node it
                  built there, forward, gradient and update Nodes alike;
  --first-run     the Nodes the script's first Session.run fetches, with everything they
                  depend on; the script is stopped at that call, before the run happens
                  (--run N picks the Nth call instead). This also works for a script that
                  builds its model in its own sg.Graph().

The picture's format comes from the suffix of -o: .svg, .png, .pdf, or .dot for the DOT
text (which needs no Graphviz). Arguments for the script go after --:
  python -m symgraph render train.py -o graph.svg -- --steps 5
"""


class _StopScript(BaseException):
    """Raised inside the script to stop it at the chosen Session.run (BaseException, so the
    script's own `except Exception:` cannot swallow it). A script that catches it anyway
    (`except BaseException:`, a bare `except:`) goes on, but every Session.run it makes
    after that raises it again: no later run happens."""


@dataclass
class ScriptRun:
    """What running a script left behind."""

    graph: object  # the default Graph when the script stopped or ended
    session: object = None  # the Session of the chosen run, if one was chosen and reached
    fetches: list = field(default_factory=list)  # the Nodes that run fetches, flattened
    feed_dict: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # {Node: value}, when values were asked for
    exit_code: int = 0  # the script's own sys.exit code
    call: int = 0  # which Session.run call the chosen run was, counting every call (1 = first)
    caught_stop: bool = False  # the script caught the stop and went on (no run did, though)


def _flatten_fetches(fetches) -> list:
    from symgraph.graph import Node

    found, stack = [], [fetches]
    while stack:
        item = stack.pop()
        if isinstance(item, Node):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(list(item)))
    return found


def run_script(
    path: str, script_args=(), stop_at_run: int | None = None, values: bool = False, counts=None
):
    """Run the script at `path` like `python path *script_args`, and return a ScriptRun.

    With `stop_at_run=N` the script is stopped when it calls Session.run for the Nth
    time, before that run happens; the ScriptRun says what it fetched and fed (and, with
    `values=True`, what the run would compute, without committing any update).
    With `counts`, a function of a run's fetches (a flat list of Nodes), only the runs
    it answers True for are counted (`is_training_run` counts training runs).
    """
    import symgraph as sg
    from symgraph.session import Session

    sg.reset_default_graph()
    result = ScriptRun(graph=None)
    original_run = Session.run
    calls = every_call = 0
    stopped = False

    def watching_run(self, fetches, feed_dict=None):
        nonlocal calls, every_call, stopped
        if stopped:  # the script caught the stop: hold it, so no later run happens either
            result.caught_stop = True
            raise _StopScript
        every_call += 1
        if counts is None or counts(_flatten_fetches(fetches)):
            calls += 1
        if calls != stop_at_run:
            return original_run(self, fetches, feed_dict)
        stopped = True
        result.session, result.feed_dict = self, dict(feed_dict or {})
        result.fetches, result.call = _flatten_fetches(fetches), every_call
        if values:
            from symgraph.viz.records import ancestors
            from symgraph.viz.values import run_values

            result.values = run_values(self, ancestors(result.fetches), feed_dict)
        raise _StopScript

    script = os.path.abspath(path)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *script_args]
    sys.path.insert(0, os.path.dirname(script))
    if stop_at_run is not None:
        Session.run = watching_run
    try:
        runpy.run_path(script, run_name="__main__")
        result.caught_stop = stopped  # it ended on its own, after the stop
    except _StopScript:
        pass
    except SystemExit as e:
        code = e.code
        if stopped:  # it caught the stop, then exited: we have the run, whatever the code
            result.caught_stop = True
        else:
            result.exit_code = code if isinstance(code, int) else (0 if code is None else 1)
    except Exception:
        if not stopped:
            raise
        result.caught_stop = True  # it caught the stop, then failed without that run's results
    finally:
        Session.run = original_run
        sys.argv, sys.path[:] = saved_argv, saved_path
    result.graph = sg.get_default_graph()
    return result


# -- arguments checked when they are parsed, before the script runs ---------------------
def _run_number(text: str) -> int:
    """--run N: a count of Session.run calls, from 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: runs are counted from 1")
    return n


def _pass_name(text: str) -> str:
    """--disable PASS: the name of a compiler pass, or 'all'."""
    from symgraph.compiler.passes import PASSES

    names = [name for name, _ in PASSES]
    if text != "all" and text not in names:
        raise argparse.ArgumentTypeError(
            f"no compiler pass named {text!r}; the passes are {', '.join(names)}, or 'all'"
        )
    return text


# -- render -----------------------------------------------------------------------------
def _collapse_arg(values):
    """--collapse 2 -> depth 2; --collapse auto -> 'auto'; --collapse a --collapse b -> names."""
    if not values:
        return None
    if len(values) == 1 and values[0].isdigit():
        return int(values[0])
    if values == ["auto"]:
        return "auto"
    return list(values)


def add_render_parser(commands) -> None:
    p = commands.add_parser(
        "render",
        help="run a script and draw the graph it built",
        description=RENDER_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("script", help="the Python script to run")
    p.add_argument(
        "-o", "--output", default="graph.svg", help="the picture file (default: graph.svg)"
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--first-run",
        action="store_const",
        const=1,
        dest="run",
        help="draw the fetches of the script's first Session.run, and stop the script there",
    )
    what.add_argument(
        "--run", type=_run_number, metavar="N", help="like --first-run, for the Nth Session.run"
    )
    p.add_argument(
        "--values",
        action="store_true",
        help="with --first-run/--run: show each value that run computes (shape and summary); "
        "no Variable is changed",
    )
    p.add_argument("--names", action="store_true", help="show each op's node name")
    p.add_argument("--shapes", choices=["node", "edge"], help="show shapes in nodes or on edges")
    p.add_argument("--dtypes", action="store_true", help="show dtypes too")
    p.add_argument(
        "--collapse",
        action="append",
        metavar="SCOPE",
        help="draw a scope as one box; repeat for more; wildcards work ('rnn/step_*'); "
        "a number collapses every scope that deep; 'auto' picks a depth that fits",
    )
    p.add_argument("--no-scopes", action="store_true", help="do not draw name scopes as clusters")
    p.add_argument(
        "--grad-links",
        action="store_true",
        help="dashed lines from gradients to what they differentiate",
    )
    p.add_argument("--no-legend", action="store_true", help="leave out the legend")
    p.add_argument(
        "--rankdir",
        choices=["TB", "LR"],
        default="TB",
        help="flow top-bottom (default) or left-right",
    )
    p.add_argument("--title", help="a title over the picture")
    p.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        metavar="N",
        help="refuse pictures with more nodes than this (default 2000; 0: no limit)",
    )
    p.set_defaults(func=render_command)


def _output_problem(path: str, picture: bool) -> str | None:
    """What would stop the output being written, found before the script runs: an
    unknown picture suffix, a missing folder, or no `dot` where a layout is needed."""
    from symgraph.errors import RenderError
    from symgraph.viz.layout import FORMATS, find_dot

    suffix = os.path.splitext(path)[1].lower()
    if picture and suffix not in FORMATS:
        return f"cannot tell the picture format from {path!r}: end it with one of {', '.join(FORMATS)}"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no folder {folder} to write {os.path.basename(path)} into"
    if not picture or FORMATS[suffix] != "dot":
        try:
            # a picture can be DOT text instead; the page has no such way round
            find_dot() if picture else find_dot(instead=None)
        except RenderError as e:
            return f"{e.headline}; {e.hint}"
    return None


def render_command(args, script_args) -> int:
    from symgraph.errors import SymgraphError
    from symgraph.viz import MAX_NODES, render

    if not os.path.isfile(args.script):
        print(f"error: no script at {args.script}", file=sys.stderr)
        return 2
    if args.values and args.run is None:
        print(
            "error: --values needs --first-run or --run N (values come from a run)", file=sys.stderr
        )
        return 2
    problem = _output_problem(args.output, picture=True)
    if problem:  # said before the script runs, which may take minutes
        print(f"error: {problem}", file=sys.stderr)
        return 2
    run = run_script(args.script, script_args, stop_at_run=args.run, values=args.values)
    if run.exit_code:
        print(
            f"error: {args.script} exited with code {run.exit_code}; nothing drawn", file=sys.stderr
        )
        return run.exit_code
    if args.run is not None:
        if run.session is None:
            print(
                f"error: {args.script} ended before its Session.run number {args.run}; "
                "nothing drawn (leave out --first-run/--run to draw the default graph)",
                file=sys.stderr,
            )
            return 1
        target, what = run.fetches, f"the fetches of Session.run number {args.run}"
    else:
        if len(run.graph) == 0:
            print(
                f"error: {args.script} built no Nodes in the default graph; if it builds in its "
                "own sg.Graph(), use --first-run",
                file=sys.stderr,
            )
            return 1
        target, what = run.graph, "the default graph"
    max_nodes = MAX_NODES if args.max_nodes is None else (args.max_nodes or None)
    options = dict(
        names=args.names,
        shapes=args.shapes,
        dtypes=args.dtypes,
        collapse=_collapse_arg(args.collapse),
        scopes=not args.no_scopes,
        grad_links=args.grad_links,
        legend=not args.no_legend,
        rankdir=args.rankdir,
        title=args.title,
        values=run.values or None,
        max_nodes=max_nodes,
    )
    try:
        path = render(target, args.output, **options)
    except SymgraphError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        if "max_nodes" in str(e):  # its hint is in Python's words: say it in this command's
            print(
                "  on the command line: --collapse auto, --collapse 'rnn/step_*' (scopes by "
                "name, repeatable), --collapse 2 (a depth), or --max-nodes 0 to draw it all",
                file=sys.stderr,
            )
        return 1
    print(f"wrote {path} ({what})")
    return 0


# -- explain --------------------------------------------------------------------------------
EXPLAIN_HELP = """\
Run SCRIPT, stop it at its first training run, and write a page that steps through the
compile of that run: the graph the script built, the gradients autodiff added, the update
Nodes, then the graph after each compiler pass, each with its picture, its Program listing
(changed lines marked), its figures and its memory plan. One self-contained HTML file:
open it in any browser, no server needed; the arrow keys step.

Which run is explained:
  by default   the script's first training run: the first Session.run whose fetches
               include an update Node (what optimizer.minimize() returns, or an
               sg.assign / sg.group). Runs that only evaluate are not counted.
  --run N      the Nth training run instead.
  --any-run    count every Session.run, training or not (alone: the very first run;
               with --run N: the Nth run of any kind).
The script is stopped at that call, before the run happens: nothing after it runs, and
no Variable is changed. (A script that catches the stop, with `except BaseException:` or a
bare `except:`, goes on, but every Session.run it makes after that is stopped too.) Runs made through Session.make_callable are not counted.
The run's fetches are compiled with the values of its feed_dict, so every shape is
concrete and memory is planned, and with the passes its Session switched off.

Arguments for the script go after --:
  python -m symgraph explain train.py -o page.html -- --epochs 1
"""


def is_training_run(fetches) -> bool:
    """A run whose fetches include an update Node: an assign, or a group of them."""
    return any(f.op.name in ("assign", "group") for f in fetches)


def _ordinal(n: int) -> str:
    if n == 1:
        return "first"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def add_explain_parser(commands) -> None:
    p = commands.add_parser(
        "explain",
        help="run a script and write a page that steps through the compile of its first "
        "training run",
        description=EXPLAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("script", help="the Python script to run")
    p.add_argument(
        "-o", "--output", default="explain.html", help="the page to write (default: explain.html)"
    )
    p.add_argument(
        "--run",
        type=_run_number,
        default=1,
        metavar="N",
        help="explain the Nth training run (with --any-run: the Nth run of any kind)",
    )
    p.add_argument(
        "--any-run",
        action="store_true",
        help="count every Session.run, not only those that fetch an update Node",
    )
    p.add_argument(
        "--disable",
        action="append",
        type=_pass_name,
        metavar="PASS",
        help="leave out a compiler pass (repeat for more; 'all' for none); by default the "
        "passes the script's Session leaves out",
    )
    p.add_argument("--title", help="the page's title (default: the script and the run)")
    p.set_defaults(func=explain_command)


def explain_command(args, script_args) -> int:
    from symgraph.compiler.explain import explain
    from symgraph.errors import SymgraphError

    if not os.path.isfile(args.script):
        print(f"error: no script at {args.script}", file=sys.stderr)
        return 2
    problem = _output_problem(args.output, picture=False)
    if problem:  # said before the script runs, which may take minutes
        print(f"error: {problem}", file=sys.stderr)
        return 2
    kind = "run" if args.any_run else "training run"
    which = f"its {_ordinal(args.run)} {kind}"
    run = run_script(
        args.script,
        script_args,
        stop_at_run=args.run,
        counts=None if args.any_run else is_training_run,
    )
    if run.session is None:
        if run.exit_code:
            print(
                f"error: {args.script} exited with code {run.exit_code} before {which}; "
                "nothing explained",
                file=sys.stderr,
            )
            return run.exit_code
        hint = (
            ""
            if args.any_run
            else (
                " (a training run fetches an update Node, such as optimizer.minimize()'s; "
                "--any-run counts every Session.run)"
            )
        )
        print(
            f"error: {args.script} ended before {which}; nothing explained{hint}", file=sys.stderr
        )
        return 1
    disable = run.session.disable
    if args.disable:
        disable = "all" if "all" in args.disable else args.disable
    what = f"Session.run number {run.call}, {which}"
    title = args.title or f"{os.path.basename(args.script)}: {what}"
    try:
        steps = explain(run.fetches, feeds=dict(run.feed_dict), disable=disable)
        path = steps.save_html(args.output, title=title)
    except SymgraphError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    stop = (
        "the script caught the stop and went on, but no Session.run after it ran"
        if run.caught_stop
        else "the script was stopped there"
    )
    print(f"wrote {path}: {len(steps)} steps of the compile of {what}; {stop}")
    return 0


# -- main -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m symgraph",
        description="Look inside the graphs a symgraph script builds.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_render_parser(commands)
    add_explain_parser(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit code. Arguments after `--` go to the script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    return args.func(args, script_args)


if __name__ == "__main__":
    sys.exit(main())
