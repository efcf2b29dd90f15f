"""Hostile and broken input to the tool: no crash, no silent acceptance, nothing half-written.

A fixed-seed corpus of mutated specs must give only SpecErrors (never another exception);
every size is bounded; echoed text is escaped and clipped; a killed `nndsl gen` leaves the
old package or the new one.
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nndsl
from nndsl import codegen, targets
from nndsl.cli import main
from nndsl.errors import SpecError
from tests.conftest import ROOT, SPECS

ERROR_SPECS = sorted((ROOT / "tests" / "specs" / "errors").glob("*.nn"))


def check_text(text: str, tmp_path: Path, capsys, name: str = "x.nn") -> tuple[int, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code = main(["check", str(path)])
    return code, capsys.readouterr().err


# --- bounded sizes ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model m {\n input vector(4)\n dense(" + "9" * 5000 + ")\n}\n", "digits is too long"),
        ("model m {\n input vector(4)\n dense(" + "[" * 600 + "1" + "]" * 600 + ")\n}", "nested"),
        ("model m {\n input vector(4)\n " + "relu(" * 600 + ")" * 600 + "\n}", "nested"),
        ("model m {\n input vector(4)\n dense(" + "(" * 600 + "1," + ")" * 600 + ")\n}", "nested"),
        ("model true {\n input vector(4)\n dense(2)\n}", "Python keyword"),
        ("model false {\n input vector(4)\n dense(2)\n}", "Python keyword"),
        ("model none {\n input vector(4)\n dense(2)\n}", "Python keyword"),
        ("model m {\n input vector(4)\n repeat 10001 {\n relu()\n }\n}", "repeat needs"),
        (
            "model m {\n input vector(4)\n repeat 1000 {\n repeat 11 {\n relu()\n }\n }\n}",
            "more than 10,000 layers",
        ),
        ("model m {\n input vector(4)\n dense(१०)\n}", "ASCII digits"),
        ("model m {\n input vector(4)\n conv1d(2, ٣)\n}", "ASCII digits"),
    ],
)
def test_sizes_are_bounded(text: str, message: str, tmp_path, capsys):
    code, err = check_text(text, tmp_path, capsys)
    assert code == 2 and message in err, err
    assert "Traceback" not in err and "internal error" not in err


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "big.nn"
    with open(path, "wb") as handle:
        handle.truncate(5 * 1024 * 1024)
    assert main(["check", str(path)]) == 2
    assert "larger than" in capsys.readouterr().err


# --- echoed text: right line, escaped, clipped ---


@pytest.mark.parametrize("separator", ["\f", "\r", "\u2028", "\x0b"])
def test_echoed_line_is_the_erroneous_one(separator: str, tmp_path, capsys):
    text = f"model m {{\n    input vector(4) # a{separator}b\n    dense(0)\n}}\n"
    code, err = check_text(text, tmp_path, capsys)
    head, source, caret, *_ = err.splitlines()
    assert code == 2 and head.startswith(f"{tmp_path / 'x.nn'}:3:11: error:")
    assert source.strip() == "dense(0)" and caret.index("^") == source.index("0")


def test_control_characters_are_escaped(tmp_path, capsys):
    text = "model m {\n    input vector(4)\n    dense(0) # \x1b[2J\n}\n"
    path = tmp_path / "x\x1b[2J\nname.nn"
    path.write_text(text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J" in err
    assert err.splitlines()[0].startswith(str(tmp_path)) and "\\x0aname.nn:3:" in err


def test_a_long_line_is_clipped_around_the_caret(tmp_path, capsys):
    text = "model m {\n    input vector(4)\n    " + " " * 1_000_000 + "dense(0)\n}\n"
    code, err = check_text(text, tmp_path, capsys)
    assert code == 2 and len(err) < 1000, len(err)
    head, source, caret, *_ = err.splitlines()
    assert "dense(0)" in source and source[caret.index("^")] == "0"


# --- the environment's errors are the user's, not internal ---


def test_output_onto_a_file_or_a_read_only_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["gen", str(ROOT / "specs" / "mlp.nn"), "-t", "torch", "-o", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and len(err.splitlines()) == 1
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        assert main(["gen", str(ROOT / "specs" / "mlp.nn"), "-o", str(locked / "g")]) == 2


def test_a_folder_in_the_way_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "mlp_torch.py").mkdir(parents=True)
    assert main(["gen", str(ROOT / "specs" / "mlp.nn"), "-t", "torch", "-o", str(out)]) == 2
    assert "a folder is in the way" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["mlp_torch.py"]


def test_gen_honours_the_umask_and_fmt_keeps_mode_and_links(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert (
            main(["gen", str(ROOT / "specs" / "mlp.nn"), "-t", "torch", "-o", str(tmp_path / "g")])
            == 0
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "g" / "mlp_torch.py").stat().st_mode) == 0o644
    spec = tmp_path / "real.nn"
    spec.write_text("model m {\ninput vector(4)\n  dense(2)}\n")
    spec.chmod(0o640)
    link = tmp_path / "link.nn"
    link.symlink_to(spec)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and stat.S_IMODE(spec.stat().st_mode) == 0o640
    assert spec.read_text().startswith("model m {\n    input vector(4)\n")


# --- a killed gen leaves the old package or the new one ---


def test_killed_gen_leaves_old_or_new_never_a_mix(tmp_path):
    out = tmp_path / "generated"
    assert main(["gen", str(ROOT / "specs"), "-t", "torch", "-o", str(out)]) == 0
    new = {p.name: p.read_text() for p in out.glob("*.py")}
    old = {name: text + "# old\n" for name, text in new.items()}
    rng = random.Random(7)
    command = [
        sys.executable,
        "-m",
        "nndsl",
        "gen",
        str(ROOT / "specs"),
        "-t",
        "torch",
        "-o",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    duration = time.perf_counter() - start
    outcomes = []
    for _ in range(20):
        for name, text in old.items():
            (out / name).write_text(text)
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration))
        child.send_signal(signal.SIGKILL)
        child.wait()
        now = {p.name: p.read_text() for p in out.glob("*.py")}
        assert now in (old, new), "a mix of old and new modules"
        outcomes.append(now == new)
    print(
        f"killed runs: {outcomes.count(True)} left the new package, {outcomes.count(False)} the old"
    )
    subprocess.run(command, check=True, capture_output=True)
    stray = [p.name for p in [*out.iterdir(), *tmp_path.iterdir()] if "nndsl-" in p.name]
    assert not stray, stray


# --- a fixed-seed fuzz corpus: only SpecErrors, never a crash ---


def _mutations(text: str, rng: random.Random) -> str:
    tokens = [
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ",",
        "=",
        "->",
        "input",
        "output",
        "block",
        "repeat",
        "model",
        "train",
        "x",
        "-1",
        "1e999",
        '"',
        "#",
        "\n",
        "\\",
        "0",
        "add(",
        "relu",
    ]
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(chars) + 1)
        action = rng.random()
        if action < 0.35 and chars:
            del chars[where : where + rng.randint(1, 6)]
        elif action < 0.75:
            chars[where:where] = list(rng.choice(tokens))
        else:
            chars[where:where] = [chr(rng.randint(0, 0x2FFF))]
    return "".join(chars)


def test_fuzzed_specs_give_only_spec_errors():
    seeds = [p.read_bytes().decode("utf-8", "replace") for p in [*SPECS, *ERROR_SPECS]]
    rng = random.Random(20261204)
    torch = targets.get("torch")
    outcomes = {"ok": 0, "error": 0}
    for index in range(8000):
        text = _mutations(rng.choice(seeds), rng)
        try:
            program = nndsl.loads(text, "fuzz.nn")
        except SpecError as err:
            formatted = err.format()
            assert formatted.startswith("fuzz.nn"), (index, text, formatted)
            assert "\x1b" not in formatted
            outcomes["error"] += 1
            continue
        codegen._checked(codegen.render_source(program, torch, "fuzz.nn"), "torch")
        outcomes["ok"] += 1
    assert outcomes["error"] > 5000 and outcomes["ok"] > 100, outcomes
