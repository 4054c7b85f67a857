"""docs/make_figures.py draws the README's pictures."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_make_figures_writes_the_mlp_and_rnn_pictures(tmp_path, require_program):
    require_program("dot")
    spec = importlib.util.spec_from_file_location(
        "make_figures", os.path.join(ROOT, "docs", "make_figures.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(["--out", str(tmp_path)])
    assert {"mlp.svg", "rnn.svg"} <= {os.path.basename(p) for p in written}  # the README's pictures, at least
    by_name = {os.path.basename(p): p for p in written}
    mlp = Path(by_name["mlp.svg"]).read_text(encoding="utf-8")
    assert ">dW1<" in mlp and ">tanh_grad<" in mlp
    rnn = Path(by_name["rnn.svg"]).read_text(encoding="utf-8")
    assert ">step_7<" in rnn and ">dWh<" in rnn
