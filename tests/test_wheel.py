"""The wheel ships the package `nndsl`: its grammar and every target's templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from nndsl import targets
from tests.conftest import ROOT


def test_wheel_ships_grammar_and_templates(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("nndsl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nndsl/grammar.lark" in names and "nndsl/__init__.py" in names
    assert not any(name.startswith("dsl/") for name in names)
    for target in targets.registry():
        for template in (ROOT / "templates" / target).glob("*.j2"):
            assert f"nndsl/templates/{target}/{template.name}" in names, template
    for template in (ROOT / "templates" / "_shared").glob("*.j2"):
        assert f"nndsl/templates/_shared/{template.name}" in names
