"""`nndsl fmt`: one canonical layout, idempotent, comment-preserving and meaning-preserving.

tests/specs/fmt/NAME.nn is an input and NAME.expected its formatted text (black-style
cases); regenerate with `NNDSL_UPDATE_GOLDEN=1 pytest tests/test_fmt.py` and review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nndsl.cli import main
from nndsl.fmt import format_text
from nndsl.resolve import parse
from nndsl.syntax import parse_syntax

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.nn"))
CASES = sorted((ROOT / "tests" / "specs" / "fmt").glob("*.nn"))
UPDATE = os.environ.get("NNDSL_UPDATE_GOLDEN") == "1"

MESSY = {
    "comments_everywhere": """# head
model m { # open
  input vector(784) # in
  # lone
  dense(10, # mid-call
     activation=softmax) # end
  # last in model
} # close
# between
train { dataset mnist # ds
  loss categorical_crossentropy optimizer adam # two on a line
# last in train
}
# tail""",
    "odd_spacing": "model   m\n{\ninput   image( 28,28 ,1 )\n\tconv2d ( 8 ,3 ,padding = same )\n"
    "flatten( )   dense(10)}\ntrain{dataset mnist loss mse optimizer sgd( 0.1 ,momentum=0.9 )}",
    "trailing_commas": "model m {\n input image(28, 28, 1,)\n conv2d(8, (3, 3,), stride=[1, 1,],)\n"
    " reshape((-1,),)\n dense(10,)\n}\ntrain {\n dataset mnist(batch_size=32,)\n"
    " loss mse\n optimizer adam(0.001,)\n metrics [accuracy,]\n}\n",
    "crlf_and_tabs": "model m {\r\n\tinput vector(4)\r\n\tdense(2)\t# tab\r\n}\r\n",
    "no_newline_at_end": "model m { input vector(4) dense(2) }",
    "blank_runs": "\n\n\nmodel m {\n\n\n input vector(4)\n\n\n\n dense(2)\n\n\n}\n\n\n\n",
    "strings": 'model m { input vector(4) dense(2) }\ntrain { dataset csv("a\\"#b.csv", '
    '"c\\\\d.csv", label="t\\tn\\n") loss mse optimizer adam }',
    "nested_activations": "model m { input vector(4) dense(2, activation = leaky_relu( 0.2 ) )"
    " dense(2, activation=gelu(approximate = true)) }",
}


def _comments(text: str) -> list[str]:
    """Every comment's words, sorted: fmt may join two comments of one statement's lines."""
    parts = []
    for token in parse_syntax(text, "t.nn").comments:
        parts += [part.strip() for part in str(token).split("#") if part.strip()]
    return sorted(parts)


def _meaning(text: str) -> object:
    """What a spec means: its IR without source spans."""

    def strip(data: object) -> object:
        if isinstance(data, dict):
            return {k: strip(v) for k, v in data.items() if k != "span"}
        if isinstance(data, (list, tuple)):
            return [strip(v) for v in data]
        return data

    return strip(parse(text, "t.nn").model_dump())


def test_fmt_check_specs_is_clean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["fmt", "--check", "specs/"]) == 0
    assert capsys.readouterr().err == ""


def test_fmt_check_reports_a_messy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "messy.nn"
    path.write_text(MESSY["odd_spacing"], encoding="utf-8")
    assert main(["fmt", "--check", str(path)]) == 1
    assert f"would reformat {path}" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == MESSY["odd_spacing"]  # --check writes nothing
    assert main(["fmt", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == format_text(MESSY["odd_spacing"])
    assert main(["fmt", "--check", str(path)]) == 0


def test_fmt_syntax_error_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.nn"
    path.write_text("model m {\n    input vector(784\n", encoding="utf-8")
    assert main(["fmt", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:2:21: error: unexpected end of file: missing ')'")
    assert path.read_text(encoding="utf-8") == "model m {\n    input vector(784\n"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_specs_are_formatted_and_idempotent(spec: Path) -> None:
    text = spec.read_text(encoding="utf-8")
    assert format_text(text) == text


ALL_INPUTS = [
    *((f"messy_{name}", text) for name, text in MESSY.items()),
    *((p.stem, p.read_text(encoding="utf-8")) for p in CASES),
]


@pytest.mark.parametrize(("name", "text"), ALL_INPUTS, ids=[name for name, _ in ALL_INPUTS])
def test_idempotent(name: str, text: str) -> None:
    once = format_text(text)
    assert format_text(once) == once


@pytest.mark.parametrize(("name", "text"), ALL_INPUTS, ids=[name for name, _ in ALL_INPUTS])
def test_same_meaning_and_comments(name: str, text: str) -> None:
    pretty = format_text(text)
    assert _meaning(pretty) == _meaning(text)
    assert _comments(pretty) == _comments(text)


@pytest.mark.parametrize(("name", "text"), ALL_INPUTS, ids=[name for name, _ in ALL_INPUTS])
def test_layout_rules(name: str, text: str) -> None:
    pretty = format_text(text)
    lines = pretty.split("\n")
    assert pretty.endswith("\n") and lines[-2].startswith(("}", "#"))
    assert not pretty.endswith("\n\n")
    assert "\t" not in pretty.replace("\\t", "") and "\r" not in pretty
    assert "\n\n\n" not in pretty
    for line in lines:
        assert line == line.rstrip()
        stripped = line.lstrip(" ")
        assert len(line) - len(stripped) in (0, 4)
        if not stripped.startswith("#"):
            assert ",)" not in stripped.replace("(-1,)", "") or stripped.count(",") == 1
            assert " )" not in stripped and "( " not in stripped and ",]" not in stripped
    for opening in ("model ", "train {"):
        heads = [i for i, line in enumerate(lines) if line.startswith(opening)]
        for i in heads:
            assert lines[i + 1] != ""  # no blank line after `{`


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_golden(case: Path) -> None:
    expected = case.with_suffix(".expected")
    pretty = format_text(case.read_text(encoding="utf-8"), str(case))
    if UPDATE:
        expected.write_bytes(pretty.encode("utf-8"))
    assert pretty == expected.read_text(encoding="utf-8")


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 5
    assert all(case.with_suffix(".expected").exists() for case in CASES)


def test_comment_placement() -> None:
    pretty = format_text(MESSY["comments_everywhere"])
    assert pretty == (
        "# head\n"
        "model m {  # open\n"
        "    input vector(784)  # in\n"
        "    # lone\n"
        "    dense(10, activation=softmax)  # mid-call  # end\n"
        "    # last in model\n"
        "}  # close\n"
        "\n"
        "# between\n"
        "train {\n"
        "    dataset mnist  # ds\n"
        "    loss categorical_crossentropy\n"
        "    optimizer adam  # two on a line\n"
        "    # last in train\n"
        "}\n"
        "\n"
        "# tail\n"
    )
