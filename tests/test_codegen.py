"""Generated code: golden record, determinism, black/ruff cleanliness, registry, safety."""

from __future__ import annotations

import ast
import subprocess
import sys

import black
import pytest

from nndsl import codegen, ir, targets
from nndsl.cli import main
from nndsl.errors import NndslError
from nndsl.infer import analyse
from nndsl.resolve import parse
from tests.conftest import ROOT, SPECS, TARGETS, program_of

CASES = [
    pytest.param(spec, target, id=f"{spec.stem}-{target}") for spec in SPECS for target in TARGETS
]


def render(spec, target):
    return codegen.render(program_of(spec), targets.get(target), f"specs/{spec.name}")


def test_committed_generated_is_up_to_date(capsys):
    code = main(
        ["gen", str(ROOT / "specs"), "--target", "all", "-o", str(ROOT / "generated"), "--check"]
    )
    assert code == 0, capsys.readouterr().err


def test_every_spec_has_a_committed_module():
    for spec in SPECS:
        program = program_of(spec)
        for target in targets.registry().values():
            path = codegen.output_path(program, target, ROOT / "generated")
            assert path.is_file(), path.name


def test_cnn_torch_reads_like_an_expert_module():
    """The model, its loss, optimizer and loops; the shared pieces live in the support modules."""
    lines = (ROOT / "generated" / "cnn_torch.py").read_text().splitlines()
    assert len(lines) < 250, len(lines)


def test_every_cnn_module_is_comparable_in_size():
    """No target's CNN module is more than a third longer than torch's: what the modules of a
    target share lives in its support module."""
    sizes = {
        path.name: len(path.read_text().splitlines())
        for path in (ROOT / "generated").glob("cnn_*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 1.34 * sizes["cnn_torch.py"]} == {}


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_output_parses_is_black_stable_and_deterministic(spec, target):
    text = render(spec, target)
    ast.parse(text)
    mode = black.Mode(line_length=codegen.LINE_LENGTH, target_versions={black.TargetVersion.PY310})
    assert black.format_str(text, mode=mode) == text
    assert render(spec, target) == text


def test_generated_is_ruff_clean():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "E,F,W,B,I",
            "--ignore",
            "E501",
            str(ROOT / "generated"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_generated_is_standalone(spec, target):
    tree = ast.parse(render(spec, target))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | targets.get(target).imports
    assert imported <= allowed, imported - allowed
    relative = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
    }
    assert relative <= {None, targets.get(target).support_module}  # `from . import _harness`


@pytest.mark.integration  # runs a program or compiles: not in make test-fast
@pytest.mark.parametrize("target", TARGETS)
def test_standalone_output_runs_on_its_own(target, tmp_path):
    """`nndsl gen -o -` prints one module with the harness inlined: it runs as a script."""
    text = codegen.render(
        program_of(ROOT / "specs" / "mlp.nn"), targets.get(target), "mlp.nn", True
    )
    (tmp_path / "alone.py").write_text(text)
    result = subprocess.run(
        [sys.executable, "alone.py", "summary"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "159,010 trainable" in result.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_unsupported_kinds_have_reasons(target):
    for kind, reason in targets.get(target).unsupported.items():
        assert reason.strip(), f"{target}: {kind} is unsupported without a reason"


def test_unknown_target_suggests_closest():
    with pytest.raises(NndslError, match="did you mean 'torch'"):
        targets.get("troch")


HOSTILE_STRINGS = [
    "x'); import os; os.system('id'); ('",
    'a"""b',
    "line\rimport os",
    "\\u0027",
    "{{ 7*7 }}{% raw %}",
]


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
@pytest.mark.parametrize("target", TARGETS)
def test_hostile_strings_reach_code_only_as_literals(text, target):
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    source = f"""
model m {{
    input vector(4)
    dense(2, activation=softmax)
}}
train {{
    dataset csv("{quoted}", "{quoted}", label="{quoted}")
    loss categorical_crossentropy
    optimizer sgd
}}
"""
    program = analyse(parse(source, "hostile.nn"))
    code = codegen.render(program, targets.get(target), "specs/x'\n;import os.nn")
    tree = ast.parse(code)
    strings = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert text in strings
    calls = {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    assert "system" not in calls
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            assert text not in stripped


def test_gen_writes_nothing_when_any_spec_fails(tmp_path):
    bad = tmp_path / "bad.nn"
    bad.write_text("model bad {\n    input vector(4)\n    dense(0)\n}\n")
    out = tmp_path / "out"
    code = main(["gen", str(ROOT / "specs" / "cnn.nn"), str(bad), "-o", str(out)])
    assert code == 2
    assert not out.exists()


def test_gen_target_torch_writes_one_file_and_all_writes_four(tmp_path):
    assert (
        main(["gen", str(ROOT / "specs" / "cnn.nn"), "--target", "torch", "-o", str(tmp_path)])
        == 0
    )
    assert sorted(p.name for p in tmp_path.glob("cnn_*.py")) == ["cnn_torch.py"]
    assert (
        main(["gen", str(ROOT / "specs" / "cnn.nn"), "--target", "all", "-o", str(tmp_path)]) == 0
    )
    assert sorted(p.name for p in tmp_path.glob("cnn_*.py")) == sorted(
        f"cnn_{t}.py" for t in TARGETS
    )
    assert (tmp_path / "_harness.py").is_file() and (tmp_path / "__init__.py").is_file()


def test_gen_check_names_stale_files(tmp_path, capsys):
    main(["gen", str(ROOT / "specs" / "mlp.nn"), "-o", str(tmp_path)])
    stale = tmp_path / "mlp_torch.py"
    stale.write_text(stale.read_text() + "# edited\n")
    assert main(["gen", str(ROOT / "specs" / "mlp.nn"), "-o", str(tmp_path), "--check"]) == 1
    assert "mlp_torch.py" in capsys.readouterr().err


def test_gen_check_names_orphans_of_the_checked_specs_only(tmp_path, capsys, monkeypatch):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.nn").write_text("model a {\n    input vector(3)\n    dense(2)\n}\n")
    monkeypatch.chdir(tmp_path)
    out = ["-o", "out", "--target", "torch"]
    assert main(["gen", "specs", *out]) == 0
    (specs / "a.nn").write_text("model renamed {\n    input vector(3)\n    dense(2)\n}\n")
    assert main(["gen", "specs", *out]) == 0
    capsys.readouterr()
    assert main(["gen", "specs", *out, "--check"]) == 1
    assert "orphan: out/a_torch.py" in capsys.readouterr().err
    (specs / "b.nn").write_text("model b {\n    input vector(3)\n    dense(2)\n}\n")
    assert main(["gen", "specs/b.nn", *out]) == 0
    capsys.readouterr()
    # checking one spec, or another target, does not call the other spec's modules orphans
    assert main(["gen", "specs/b.nn", *out, "--check"]) == 0
    assert main(["gen", "specs", "-o", "out", "--target", "keras", "--check"]) == 1
    assert "orphan" not in capsys.readouterr().err
    (tmp_path / "out" / "a_torch.py").unlink()
    assert main(["gen", "specs", *out, "--check"]) == 0


@pytest.mark.parametrize("target", TARGETS)
def test_spec_without_train_section_renders(target, tmp_path):
    source = "model tiny {\n    input image(8, 8, 3)\n    conv2d(4, 3)\n    flatten()\n    dense(2)\n}\n"
    program = analyse(parse(source, "tiny.nn"))
    assert program.spec.train is None
    ast.parse(codegen.render(program, targets.get(target), "tiny.nn"))


def test_ir_kinds_are_unique_across_catalogues():
    kinds = [k for c in (ir.LAYERS, ir.INPUTS, ir.DATASETS, ir.LOSSES, ir.OPTIMIZERS) for k in c]
    assert len(kinds) == len(set(kinds))
