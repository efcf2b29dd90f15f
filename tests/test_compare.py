"""Tests for `nndsl compare` (dsl.compare) against tiny fake generated modules."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from nndsl.compare import CompareJob, format_table, run_compare, write_results

GOOD = """
import argparse, json, sys

parser = argparse.ArgumentParser()
parser.add_argument("command")
parser.add_argument("--epochs", type=int)
parser.add_argument("--limit", type=int)
parser.add_argument("--data-dir")
parser.add_argument("--json")
args = parser.parse_args()
assert (args.command, args.epochs, args.limit) == ("train", 2, 10)
assert args.data_dir.endswith("DD") and args.data_dir.startswith("/")  # resolved
print("epoch 1/2 loss 0.5")
print("hello from stderr", file=sys.stderr)
result = {
    "target": "good", "trainable_params": 1234567, "non_trainable_params": 0,
    "epoch_seconds": [1.0, 2.0], "samples_per_second": 12345.6,
    "peak_memory_mb": 321.0, "test_loss": 0.1234, "test_accuracy": 0.9876,
}
with open(args.json, "w") as handle:
    json.dump(result, handle)
"""
NO_MXNET = 'raise ModuleNotFoundError("No module named \'mxnet\'", name="mxnet")\n'
CRASH = 'print("about to fail")\nraise RuntimeError("boom")\n'
SILENT = "pass\n"
SLOW = "import time\ntime.sleep(60)\n"


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    """A folder holding a `fakegen` package of fake generated modules."""
    package = tmp_path / "gen" / "fakegen"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    modules = {"good": GOOD, "nomx": NO_MXNET, "crash": CRASH}
    modules |= {"silent": SILENT, "slow": SLOW}
    for name, body in modules.items():
        (package / f"{name}.py").write_text(textwrap.dedent(body))
    return tmp_path / "gen"


def job(cwd: Path, target: str, module: str | None = None) -> CompareJob:
    """A job for fakegen.<target> (or an explicit module)."""
    return CompareJob(target, module or f"fakegen.{target}", cwd)


def test_run_compare_records(fakes: Path, tmp_path: Path) -> None:
    jobs = [job(fakes, "good"), job(fakes, "nomx"), job(fakes, "crash")]
    jobs.append(job(fakes, "silent"))
    jobs.append(job(fakes, "absent", "fakegen.absent"))
    messages: list[str] = []
    out = tmp_path / "out"
    records = run_compare(jobs, out, 2, 10, Path("DD"), messages.append)
    by = {record["target"]: record for record in records}
    assert [r["target"] for r in records] == [
        "good",
        "nomx",
        "crash",
        "silent",
        "absent",
    ]

    good = by["good"]
    assert good["status"] == "ok" and good["error"] is None
    assert good["trainable_params"] == 1234567 and good["epoch_seconds"] == 1.5
    assert good["test_accuracy"] == 0.9876 and good["peak_memory_mb"] == 321.0

    assert by["nomx"]["status"] == "missing framework"
    assert by["nomx"]["missing_module"] == "mxnet"
    assert "mxnet" in by["nomx"]["error"]
    assert by["crash"]["status"] == "failed"
    assert by["crash"]["error"] == "RuntimeError: boom"
    assert by["silent"]["status"] == "failed" and "no result JSON" in by["silent"]["error"]
    assert by["absent"]["status"] == "failed"
    for target in ("nomx", "crash", "silent", "absent"):
        assert by[target]["test_accuracy"] is None
        assert by[target]["trainable_params"] is None

    assert "[1/5] good: training..." in messages
    assert "    good| hello from stderr" in messages
    assert "    good| epoch 1/2 loss 0.5" in messages
    assert any(m.startswith("[1/5] good: ok, test acc 98.76% (") for m in messages)
    assert any(m.startswith("[2/5] nomx: missing framework:") for m in messages)


def test_relative_out_dir_works_from_another_cwd(
    fakes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the child runs in the job's cwd: paths handed to it must not be relative to ours
    monkeypatch.chdir(tmp_path)
    records = run_compare([job(fakes, "good")], Path("out"), 2, 10, Path("DD"), print)
    assert records[0]["status"] == "ok", records[0]["error"]
    assert (tmp_path / "out" / "good.json").is_file()


def test_timeout_kills_child(fakes: Path, tmp_path: Path) -> None:
    records = run_compare([job(fakes, "slow")], tmp_path / "o", 1, None, None, print, 1.0)
    assert records[0]["status"] == "failed"
    assert records[0]["error"] == "timed out after 1s"
    assert records[0]["wall_seconds"] < 30


def sample_records() -> list[dict]:
    """Records as run_compare makes them: one ok, one missing framework."""
    ok = {
        "target": "torch",
        "status": "ok",
        "error": None,
        "trainable_params": 1234567,
        "epoch_seconds": 2.5,
        "samples_per_second": 24000.4,
        "peak_memory_mb": 512.25,
        "test_loss": 0.05,
        "test_accuracy": 0.9871,
    }
    missing = {key: None for key in ok} | {
        "target": "gluon",
        "status": "missing framework",
        "error": "No module named 'mxnet'",
    }
    return [ok, missing]


def test_format_table() -> None:
    table = format_table(sample_records())
    lines = table.splitlines()
    assert lines[0].split() == [
        "target", "status", "trainable", "params", "s/epoch",
        "samples/s", "peak", "MB", "test", "loss", "test", "acc",
    ]  # fmt: skip
    assert "1,234,567" in lines[2] and "24,000" in lines[2] and "98.71%" in lines[2]
    assert lines[3].startswith("gluon   missing framework")
    assert lines[3].count("-") == 6
    # Right-aligned numeric columns end at the same column in every row.
    end = lines[0].index("params") + len("params")
    assert lines[2][:end].endswith("1,234,567") and lines[3][:end].endswith("-")
    assert lines[-1] == "  gluon: No module named 'mxnet'"


def test_write_results(tmp_path: Path) -> None:
    records = sample_records()
    json_path, png_path = write_results(records, tmp_path / "out", "mnist_mlp")
    assert json_path == tmp_path / "out" / "results.json"
    text = json_path.read_text()
    assert json.loads(text) == records
    assert text.index('"epoch_seconds"') < text.index('"error"')  # sorted keys
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(png_path).shape[:2] == (450, 1000)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "results.json",
        "results.png",
    ]


def test_end_to_end_outputs(fakes: Path, tmp_path: Path) -> None:
    jobs = [job(fakes, "good"), job(fakes, "nomx")]
    records = run_compare(jobs, tmp_path / "out", 2, 10, Path("DD"), lambda _m: None)
    json_path, png_path = write_results(records, tmp_path / "out", "demo")
    assert json_path.is_file() and png_path.is_file()
    assert "missing framework" in format_table(records)
