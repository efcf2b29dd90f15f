"""Every bad input gets one gcc-style line, the source line and a caret, and exit code 2.

tests/specs/errors/NAME.nn holds one kind of mistake; NAME.expected is the exact stderr of
`nndsl check tests/specs/errors/NAME.nn`. After changing a message on purpose, regenerate
the snapshots with `NNDSL_UPDATE_GOLDEN=1 pytest tests/test_errors.py` and review the diff.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
from pathlib import Path

import pytest

from nndsl.cli import main

ROOT = Path(__file__).resolve().parents[1]
ERRORS = ROOT / "tests" / "specs" / "errors"
CASES = sorted(ERRORS.glob("*.nn"))
SPECS = sorted((ROOT / "specs").glob("*.nn"))
UPDATE = os.environ.get("NNDSL_UPDATE_GOLDEN") == "1"
FORBIDDEN = ("Traceback", "lark", "pydantic", "Input should", "input should")
HEAD = re.compile(r"^(?P<file>[^:]+?)(?::(?P<line>\d+):(?P<col>\d+))?: error: (?P<msg>\S.*)$")

# Mistakes a user makes by misspelling a name: each must suggest the right one.
DID_YOU_MEAN = {
    "unknown_layer": "conv2d",
    "unknown_argument": "activation",
    "misspelt_keyword": "model",
    "unknown_train_setting": "epochs",
    "unknown_optimizer": "adam",
    "unknown_metric": "accuracy",
    "unknown_activation": "relu",
    "enum_did_you_mean": "same",
    "unknown_initializer": "glorot_normal",
}


def check(path: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `nndsl check PATH` in-process; return its exit code and stderr."""
    code = main(["check", path])
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_enough_kinds() -> None:
    assert len(CASES) >= 20


def test_every_case_has_a_snapshot() -> None:
    specs = {p.stem for p in CASES}
    snapshots = {p.stem for p in ERRORS.glob("*.expected")}
    if not UPDATE:
        assert specs == snapshots


@pytest.mark.parametrize("spec", CASES, ids=lambda p: p.stem)
def test_golden(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    relative = spec.relative_to(ROOT).as_posix()
    code, stderr = check(relative, capsys)
    expected = spec.with_suffix(".expected")
    if UPDATE:
        expected.write_bytes(stderr.encode("utf-8"))
    assert code == 2
    assert stderr == expected.read_bytes().decode("utf-8")


@pytest.mark.parametrize("spec", CASES, ids=lambda p: p.stem)
def test_message_shape(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One `file:line:col: error: message` line, the source line, a caret under the column."""
    relative = spec.relative_to(ROOT).as_posix()
    _, stderr = check(relative, capsys)
    lines = stderr.splitlines()
    assert lines[-1] == "1 of 1 spec(s) have errors"
    head = HEAD.match(lines[0])
    assert head, lines[0]
    assert head["file"] == relative
    assert head["line"], "every spec error has a line and column"
    message = head["msg"]
    assert len(message) < 200 and not message.endswith(".")
    for word in FORBIDDEN:
        assert word not in stderr
    if len(lines) >= 4:  # head, source line, caret, (notes of 3 lines each), summary
        source, caret = lines[1], lines[2]
        assert source.startswith("    ") and caret.startswith("    ")
        column = int(head["col"])
        assert caret.index("^") == 4 + column - 1
        assert set(caret.strip()) <= {"^", "~"}
        notes = lines[3:-1]
        assert len(notes) % 3 == 0, stderr
        for index in range(0, len(notes), 3):  # a block's use site: file:line:col: note
            assert ": note: in block '" in notes[index], stderr
    else:
        assert spec.stem == "empty_file", stderr  # nothing to show for an empty file
    if spec.stem in DID_YOU_MEAN:
        assert f"(did you mean '{DID_YOU_MEAN[spec.stem]}'" in message


def test_messages_hide_internals(capsys: pytest.CaptureFixture[str]) -> None:
    """No traceback, and nothing of the parser's or validator's own wording, in any case."""
    for spec in CASES:
        _, stderr = check(spec.relative_to(ROOT).as_posix(), capsys)
        leaked = [word for word in FORBIDDEN if word in stderr]
        assert not leaked, f"{spec.name}: {leaked}\n{stderr}"


def test_required_messages(capsys: pytest.CaptureFixture[str]) -> None:
    _, stderr = check("tests/specs/errors/pool_larger_than_input.nn", capsys)
    assert "maxpool2d(5) needs an input of at least 5x5, got 4x4" in stderr
    _, stderr = check("tests/specs/errors/loss_output_mismatch.nn", capsys)
    assert "(24, 24, 10)" in stderr and "missing flatten()?" in stderr


def test_valid_specs_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = check("specs", capsys)
    assert code == 0 and stderr == ""


def test_one_bad_file_among_good(capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = check("specs/cnn.nn", capsys)
    assert code == 0
    code = main(["check", "specs/cnn.nn", "tests/specs/errors/unknown_layer.nn"])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.splitlines()[-1] == "1 of 2 spec(s) have errors"


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = check("specs/no_such_spec.nn", capsys)
    assert code == 2
    assert stderr.startswith("specs/no_such_spec.nn: error: no such file")


def _mutants(text: str, count: int, seed: int) -> list[str]:
    """`count` copies of `text`, each with one character deleted or duplicated."""
    edits = [(i, op) for i in range(len(text)) for op in ("delete", "duplicate")]
    chosen = random.Random(seed).sample(edits, min(count, len(edits)))
    out = []
    for i, op in chosen:
        if op == "delete":
            out.append(text[:i] + text[i + 1 :])
        else:
            out.append(text[:i] + text[i] + text[i:])
    return out


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_fuzz_single_character_edits(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting or duplicating any one character gives `ok` or a clean error, never a crash.

    All 300 edits go through one `nndsl check FOLDER` run (argparse dominates a run); on a
    failure each edit is rerun alone to name the one that broke.
    """
    text = spec.read_text("utf-8")
    mutants = _mutants(text, 300, seed=len(text))
    for index, mutant in enumerate(mutants):
        (tmp_path / f"edit_{index:03d}.nn").write_text(mutant, encoding="utf-8")
    code, stderr = check(str(tmp_path), capsys)
    heads = [line for line in stderr.splitlines() if ": error: " in line]
    clean = code in (0, 2) and all(HEAD.match(h) for h in heads)
    clean = clean and not any(word in stderr for word in FORBIDDEN)
    if clean:
        return
    for index, mutant in enumerate(mutants):  # find and show the first bad edit
        code, stderr = check(str(tmp_path / f"edit_{index:03d}.nn"), capsys)
        context = f"edit #{index} of {spec.name}:\n{mutant}\n{stderr}"
        assert code in (0, 2), context
        assert code == 0 or HEAD.match(stderr.splitlines()[0]), context
        for word in FORBIDDEN:
            assert word not in stderr, context
    pytest.fail(f"nndsl check {tmp_path} failed as a whole:\n{stderr}")


MULTI = """model m {
    input vector(4)
    x = dense(0)
    y = x -> relu()
    q = input -> dense(2, activation=foo)
    add(y, q)
}
train { dataset mnst loss crossentropy optimizer adam }
"""


def test_check_reports_every_independent_error(tmp_path, capsys) -> None:
    path = tmp_path / "multi.nn"
    path.write_text(MULTI)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    heads = [line for line in err.splitlines() if ": error: " in line]
    assert [h.split(": error: ")[1] for h in heads] == [
        "dense units must be greater than 0, got 0",
        "unknown activation 'foo'",
        "unknown dataset 'mnst' (did you mean 'mnist'?)",
        "unknown loss 'crossentropy' (did you mean 'binary_crossentropy' or"
        " 'categorical_crossentropy'?)",
    ]  # `relu` and `add` read a failed result: no follow-on errors


def test_check_json_and_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(MULTI.encode())))
    assert main(["check", "-", "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    errors = report["specs"][0]["errors"]
    assert report["failed"] == 1 and len(errors) == 4
    assert errors[0] == {
        "file": "<stdin>",
        "line": 3,
        "column": 15,
        "end_line": 3,
        "end_column": 16,
        "code": "meaning",
        "message": "dense units must be greater than 0, got 0",
        "notes": [],
    }
    monkeypatch.setattr(
        "sys.stdin", io.TextIOWrapper(io.BytesIO(b"model m {\n input vector(4)\n"))
    )
    assert main(["check", "-", "--format", "json"]) == 2
    (error,) = json.loads(capsys.readouterr().out)["specs"][0]["errors"]
    assert error["code"] == "syntax" and error["line"] == 2


def test_exit_codes(tmp_path, capsys) -> None:
    good = ROOT / "specs" / "mlp.nn"
    assert main(["check", str(good)]) == 0
    assert main(["check", str(tmp_path / "missing.nn")]) == 2
    assert main(["fmt", "--check", str(good)]) == 0
    messy = tmp_path / "messy.nn"
    messy.write_text("model m {input vector(4) dense(2)}\n")
    assert main(["fmt", "--check", str(messy)]) == 1
