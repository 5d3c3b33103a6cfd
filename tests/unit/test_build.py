"""`make build` compiles the built code for the functions' Python: the two must name the same version."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_build_compiles_for_the_runtime_the_template_gives_every_function() -> None:
    # Given the runtime of template.yaml's functions and the one the Makefile compiles for
    runtimes = set(re.findall(r"^\s+Runtime: (\S+)$", (ROOT / "template.yaml").read_text(), re.MULTILINE))
    compiled_for = re.findall(r"^LAMBDA_RUNTIME\s*:=\s*(\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)

    # Then they are one and the same: a .pyc of another version would be ignored, and every cold
    # start would compile the code again
    assert compiled_for == [*runtimes]
    assert compiled_for[0].startswith("python3.")
