"""Tests for `nndsl compare`: the runner against tiny fake generated modules, summaries and
formats on fake records, run folders, chart and report files, the numpy initialisers, and
one real comparison (every registered target, `--limit 256`) checking that all targets
started from the same weights and saw the same batches."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import textwrap
import typing
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from nndsl import cli, compare_format, compare_report, initial, ir, targets
from nndsl.compare import CompareJob, Repeat, child_environment, run_compare, run_order
from nndsl.compare_format import format_markdown, format_table, render, summarise
from nndsl.data import MNIST_FILES, default_data_dir
from tests.conftest import ROOT, program_of

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
# prints TensorFlow's unsilenceable lines, then reports what it was handed
ECHO = r"""
import argparse, hashlib, json, os, sys

print("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
      file=sys.stderr)
print("I0000 00:00:1796409681.826699   22251 port.cc:153] oneDNN custom operations are on.",
      file=sys.stderr)
print("E0000 00:00:1796409681.826699   22251 real.cc:1] a real error stays", file=sys.stderr)
parser = argparse.ArgumentParser()
for flag in ("command", "--epochs", "--limit", "--seed", "--initial-weights", "--json"):
    parser.add_argument(flag)
args = parser.parse_args()
result = {"epoch_seconds": [1.0], "test_accuracy": 0.5, "train_samples": 9,
          "initial_weights_sha256": hashlib.sha256(open(args.initial_weights, "rb").read())
          .hexdigest(), "seed": int(args.seed), "tf_log": os.environ.get("TF_CPP_MIN_LOG_LEVEL")}
with open(args.json, "w") as handle:
    json.dump(result, handle)
"""


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    """A folder holding a `fakegen` package of fake generated modules."""
    package = tmp_path / "gen" / "fakegen"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    modules = {"good": GOOD, "nomx": NO_MXNET, "crash": CRASH}
    modules |= {"silent": SILENT, "slow": SLOW, "echo": ECHO}
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
    assert good["repeat"] == 1 and good["seed"] is None and good["order_match"] is None

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
    assert "about to fail" in (out / "logs" / "crash-1.log").read_text()


def test_relative_out_dir_works_from_another_cwd(
    fakes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the child runs in the job's cwd: paths handed to it must not be relative to ours
    monkeypatch.chdir(tmp_path)
    records = run_compare([job(fakes, "good")], Path("out"), 2, 10, Path("DD"), print)
    assert records[0]["status"] == "ok", records[0]["error"]
    assert (tmp_path / "out" / "runs" / "good-1.json").is_file()


def test_timeout_kills_child(fakes: Path, tmp_path: Path) -> None:
    records = run_compare([job(fakes, "slow")], tmp_path / "o", 1, None, None, print, 1.0)
    assert records[0]["status"] == "failed"
    assert records[0]["error"] == "timed out after 1s"
    assert records[0]["wall_seconds"] < 30


def test_repeats_interleave_pass_seeds_and_weights_and_quiet_tensorflow(
    fakes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    files = []
    for seed in (7, 8):
        files.append(tmp_path / f"w{seed}.npz")
        files[-1].write_bytes(b"weights %d" % seed)
    import hashlib

    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    repeats = [Repeat(n, seed, f, d) for n, seed, f, d in zip((1, 2), (7, 8), files, digests)]
    jobs = [job(fakes, "echo"), job(fakes, "echo2", "fakegen.echo")]
    assert [(r.number, j.target) for r, j in run_order(jobs, repeats)] == [
        (1, "echo"),
        (1, "echo2"),
        (2, "echo2"),
        (2, "echo"),
    ]
    messages: list[str] = []
    records = run_compare(jobs, tmp_path / "out", 1, 5, None, messages.append, None, repeats)
    assert [(r["target"], r["repeat"], r["seed"]) for r in records] == [
        ("echo", 1, 7),
        ("echo2", 1, 7),
        ("echo2", 2, 8),
        ("echo", 2, 8),
    ]
    for record in records:
        assert record["status"] == "ok", record["error"]
        assert record["weights_match"] is True  # the child hashed the file it was handed
        assert record["batch_order_sha256"] is None and record["order_match"] is False
        assert record["hidden_log_lines"] == 2
        log = Path(record["log"]).read_text()
        assert "oneDNN" in log and "absl::InitializeLog" in log
    assert json.loads((tmp_path / "out" / "runs" / "echo-2.json").read_text())["tf_log"] == "2"
    assert not any("oneDNN" in m or "absl" in m for m in messages)
    assert "    echo| E0000 00:00:1796409681.826699   22251 real.cc:1] a real error stays" in (
        messages
    )
    assert "[3/4] echo2 (repeat 2/2, seed 8): training..." in messages
    notes = compare_format.control_notes(records)
    assert "initial weights: all 4 run(s) started from the canonical weights" in notes[0]
    assert any(
        n.startswith("MISMATCH: echo (repeat 1) did not use the batch order") for n in notes
    )


def test_child_environment_keeps_what_the_user_set() -> None:
    env = child_environment({"PATH": "/bin"})
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["PATH"] == "/bin"
    assert "TF_ENABLE_ONEDNN_OPTS" not in env  # oneDNN stays on: it is part of what is measured
    assert child_environment({"TF_CPP_MIN_LOG_LEVEL": "0"})["TF_CPP_MIN_LOG_LEVEL"] == "0"


# ---- summaries, overlap and formats on fake records ----


def fake_run(target: str, repeat: int, accuracy: float | None, speed: float = 1000.0) -> dict:
    """A successful run record (or, with accuracy None, a failed one)."""
    ok = accuracy is not None
    return {
        "row": "run",
        "target": target,
        "repeat": repeat,
        "seed": 41 + repeat,
        "status": "ok" if ok else "failed",
        "error": None if ok else "RuntimeError: boom",
        "trainable_params": 34826 if ok else None,
        "first_step_seconds": 0.5 if ok else None,
        "epoch_seconds": 20.0 + repeat if ok else None,
        "samples_per_second": speed if ok else None,
        "peak_memory_mb": 600.0 if ok else None,
        "test_loss": 0.1 if ok else None,
        "test_accuracy": accuracy,
        "wall_seconds": 30.0,
        "loss_history": [0.5, (20 + repeat) / 100] if ok else None,
        "weights_match": True if ok else None,
        "order_match": True if ok else None,
        "batch_order_sha256": "a" * 64 if ok else None,
        "initial_weights_sha256": "b" * 64 if ok else None,
    }


def fake_records() -> list[dict]:
    """Three repeats of torch, tf, keras (overlapping) and gluon (lower, one run failed)."""
    accuracy = {
        "torch": (0.975, 0.977, 0.979),
        "tf": (0.978, 0.980, 0.982),
        "keras": (0.976, 0.981, 0.978),
        "gluon": (0.960, None, 0.962),
    }
    return [
        fake_run(t, r + 1, values[r], 1000.0 * (r + 1))
        for r in range(3)
        for t, values in accuracy.items()
    ]


def fake_document() -> dict:
    meta = {
        "model": "cnn",
        "spec_file": "specs/cnn.nn",
        "spec_sha256": "c" * 64,
        "targets": ["torch", "tf", "keras", "gluon"],
        "epochs": 2,
        "limit": None,
        "train_samples": 54000,
        "repeats": 3,
        "seeds": [42, 43, 44],
        "initial_weights": "shared",
        "machine": {"cpu": "Test CPU", "cores": 2, "system": "Linux", "python": "3.11"},
        "versions": {"torch": "2.13.0", "numpy": "1.26.4"},
        "nndsl": "0.2.0",
        "date": "2026-11-27T12:00:00+0000",
        "command": "nndsl compare specs/cnn.nn --repeats 3",
    }
    return compare_format.document(meta, fake_records())


def test_summary_statistics() -> None:
    rows = {row["target"]: row for row in summarise(fake_records())}
    assert list(rows) == ["torch", "tf", "keras", "gluon"]
    torch = rows["torch"]
    assert torch["runs"] == 3 and torch["ok"] == 3 and torch["status"] == "ok"
    assert torch["test_accuracy_mean"] == pytest.approx(0.977)
    assert torch["test_accuracy_std"] == pytest.approx(0.002)  # sample standard deviation
    assert (torch["test_accuracy_min"], torch["test_accuracy_max"]) == (0.975, 0.979)
    assert torch["samples_per_second_mean"] == pytest.approx(2000.0)
    assert torch["samples_per_second_std"] == pytest.approx(1000.0)
    assert torch["loss_history_mean"] == pytest.approx([0.5, 0.22])
    assert torch["loss_history_max"] == pytest.approx([0.5, 0.23])
    gluon = rows["gluon"]
    assert gluon["ok"] == 2 and gluon["status"] == "2/3 ok" and gluon["error"]
    assert gluon["test_accuracy_n"] == 2 and gluon["samples_per_second_mean"] == 2000.0
    assert torch["accuracy_overlaps"] == ["tf", "keras"]
    assert rows["tf"]["accuracy_overlaps"] == ["torch", "keras"]
    assert gluon["accuracy_overlaps"] == []
    single = summarise([fake_run("torch", 1, 0.9)])[0]
    assert single["test_accuracy_std"] is None and single["accuracy_overlaps"] is None
    assert compare_format.statistics([]) == {
        "n": 0,
        "mean": None,
        "std": None,
        "min": None,
        "max": None,
    }


def test_format_table_marks_overlaps() -> None:
    lines = format_table(fake_records()).splitlines()
    assert lines[0].split()[:4] == ["target", "runs", "ok", "trainable"]
    torch = lines[2]
    assert torch.startswith("torch   3/3") and "97.70% ±0.20" in torch
    assert "97.50-97.90" in torch and torch.endswith("tf, keras")
    assert "2,000 ±1,000" in torch and "34,826" in torch and "34,826 ±" not in torch
    assert lines[5].startswith("gluon   2/3") and lines[5].endswith("none")
    # right-aligned numbers end at the same column in every row
    end = lines[0].index("test acc") + len("test acc")
    assert all(line[:end].endswith("%") or "±" in line[:end] for line in lines[2:6])
    text = "\n".join(lines)
    assert "  gluon (repeat 2): failed: RuntimeError: boom" in text
    assert "torch vs tf: test accuracy -0.30 pp, within the spread" in text
    assert "torch vs gluon: test accuracy +1.60 pp, beyond the spread" in text
    assert "initial weights: all 11 run(s) started from the canonical weights" in text
    assert "dropout masks: each framework's own" in text
    one = format_table([fake_run("torch", 1, 0.9), fake_run("tf", 1, 0.91)])
    assert "(one run: no spread measured; use --repeats)" in one and "±" not in one


def test_formats_markdown_json_csv() -> None:
    doc = fake_document()
    markdown = render(doc, "markdown").splitlines()
    assert markdown[0].startswith("| target | runs ok |") and markdown[1].startswith("| --- |")
    assert len([line for line in markdown if line.startswith("| ")]) == 2 + 4
    assert any(line.startswith("- torch vs gluon:") for line in markdown)
    assert render(doc, "markdown") == format_markdown(doc["runs"], doc["summary"])
    parsed = json.loads(render(doc, "json"))
    assert parsed["format"] == "nndsl-compare/2" and parsed["meta"]["repeats"] == 3
    assert len(parsed["runs"]) == 12 and len(parsed["summary"]) == 4
    assert {row["row"] for row in parsed["runs"]} == {"run"}
    assert {row["row"] for row in parsed["summary"]} == {"summary"}
    rows = list(csv.DictReader(io.StringIO(render(doc, "csv"))))
    assert len(rows) == 16 and [r["row"] for r in rows].count("summary") == 4
    assert rows[0]["target"] == "torch" and rows[0]["loss_history"] == "[0.5, 0.21]"
    assert float(rows[12]["test_accuracy_mean"]) == pytest.approx(0.977)
    assert rows[-1]["accuracy_overlaps"] == "[]" and rows[0]["accuracy_overlaps"] == ""


def test_run_folders_per_spec_and_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare_report.time, "strftime", lambda _fmt: "20261127-120000")
    root = tmp_path / "results"
    first = compare_report.run_folder(None, "cnn", root)
    second = compare_report.run_folder(None, "cnn", root)
    other = compare_report.run_folder(None, "mlp", root)
    assert first == root / "cnn" / "20261127-120000"
    assert second == root / "cnn" / "20261127-120000-2"
    assert other == root / "mlp" / "20261127-120000"
    compare_report.write_outputs(fake_document(), first)
    assert compare_report.run_folder(str(first), "cnn") == first  # the same spec again
    with pytest.raises(cli.NndslError, match="another spec \\(cnn\\)"):
        compare_report.run_folder(str(first), "mlp")


def test_chart_report_and_redraw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = fake_document()
    written = compare_report.write_outputs(doc, tmp_path / "run", report=True)
    names = ["results.json", "results.csv", "chart.png", "chart.svg", "report.md"]
    assert [path.name for path in written] == names
    png, svg = tmp_path / "run" / "chart.png", tmp_path / "run" / "chart.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[:2] == (820, 1100)
    root = ElementTree.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Test CPU" in svg.read_text() and "seeds 42-44" in svg.read_text()
    report = (tmp_path / "run" / "report.md").read_text()
    assert report.startswith("# cnn: torch, tf, keras, gluon compared\n")
    assert "![cnn: accuracy, speed, memory and loss per target](chart.svg)" in report
    assert "| target | runs ok |" in report and "- torch vs gluon:" in report
    assert "Dropout masks: each framework's own" in report
    assert "| gluon | 2 | 43 | failed |" in report and "`aaaaaaaaaaaa` ✓" in report
    assert "Command: `nndsl compare specs/cnn.nn --repeats 3`" in report

    (tmp_path / "run" / "chart.svg").unlink()
    code = cli.main(["compare", "--from", str(tmp_path / "run"), "--format", "csv"])
    assert code == 0 and svg.is_file()
    assert len(list(csv.DictReader(io.StringIO(capsys.readouterr().out)))) == 16
    assert cli.main(["compare", "--from", str(tmp_path / "nothing")]) == 2


# ---- the numpy initialisers ----


def weight(init: str, shape: tuple[int, ...], name: str = "layer.kernel") -> ir.Weight:
    return ir.Weight(name=name, shape=shape, trainable=True, initializer=init)


@pytest.mark.parametrize(
    "init, shape, limit, std",
    [
        ("glorot_uniform", (300, 500), math.sqrt(6 / 800), math.sqrt(2 / 800)),
        ("he_uniform", (3, 3, 64, 128), math.sqrt(6 / 576), math.sqrt(2 / 576)),
        (
            "glorot_normal",
            (300, 500),
            2 * math.sqrt(2 / 800) / ir.TRUNCATED_NORMAL_STDDEV,
            math.sqrt(2 / 800),
        ),
        (
            "he_normal",
            (3, 3, 32, 64),
            2 * math.sqrt(2 / 288) / ir.TRUNCATED_NORMAL_STDDEV,
            math.sqrt(2 / 288),
        ),
        (
            "uniform",
            (1000, 64),
            ir.EMBEDDING_UNIFORM_LIMIT,
            ir.EMBEDDING_UNIFORM_LIMIT / math.sqrt(3),
        ),
    ],
)
def test_random_initialisers_statistics(
    init: str, shape: tuple[int, ...], limit: float, std: float
) -> None:
    values = initial.draw(weight(init, shape), seed=3)
    assert values.dtype == np.float32 and values.shape == shape
    assert np.abs(values).max() <= limit * (1 + 1e-6)
    assert np.abs(values).max() > 0.95 * limit  # the whole range is used
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)
    assert values.std() == pytest.approx(std, rel=0.02)  # Keras' variance, truncation kept


@pytest.mark.parametrize("shape", [(64, 256), (256, 64), (3, 3, 16, 16)])
def test_orthogonal(shape: tuple[int, ...]) -> None:
    values = initial.draw(weight("orthogonal", shape), seed=1).astype(np.float64)
    flat = values.reshape(-1, shape[-1])
    gram = flat @ flat.T if flat.shape[0] < flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


def test_constant_initialisers_and_determinism() -> None:
    assert (initial.draw(weight("zeros", (5,)), 0) == 0).all()
    assert (initial.draw(weight("ones", (2, 3)), 0) == 1).all()
    bias = initial.draw(weight("unit_forget_bias", (4 * 16,)), 0)
    assert (bias[16:32] == 1).all() and (np.delete(bias, range(16, 32)) == 0).all()
    kinds = set(typing.get_args(ir.Initializer)) | {"uniform", "unit_forget_bias"}
    for kind in kinds:  # every initialiser the IR names has a numpy draw
        initial.draw(weight(kind, (8, 8)), 0)
    with pytest.raises(ValueError, match="no numpy draw"):
        initial.draw(weight("lecun_normal", (8, 8)), 0)
    a, b = weight("he_uniform", (20, 30), "a.kernel"), weight("he_uniform", (20, 30), "b.kernel")
    assert np.array_equal(initial.draw(a, 5), initial.draw(a, 5))
    assert not np.array_equal(initial.draw(a, 5), initial.draw(a, 6))
    assert not np.array_equal(initial.draw(a, 5), initial.draw(b, 5))  # per-name streams


def test_program_weights_and_digests(package) -> None:
    program = program_of(ROOT / "specs" / "bn_mnist.nn")
    weights = initial.initial_weights(program.weights, 42)
    assert {k: v.shape for k, v in weights.items()} == {w.name: w.shape for w in program.weights}
    assert (weights["batchnorm_1.moving_variance"] == 1).all()
    digest = initial.weights_sha256(weights)
    assert digest == initial.weights_sha256(dict(reversed(weights.items())))  # order-free
    changed = dict(weights, **{"dense_2.bias": weights["dense_2.bias"] + 1})
    assert initial.weights_sha256(changed) != digest
    # the generated harness computes the same digests
    import importlib

    harness = importlib.import_module(f"{package.folder.name}._harness")
    assert harness.weights_sha256(weights) == digest
    harness._OrderLog.start()
    for epoch in (0, 1, 1):
        harness.epoch_order(100, 7, epoch)
    assert harness._OrderLog.stop() == initial.order_sha256(100, 7, 2)
    assert harness._OrderLog.stop() is None
    harness.epoch_order(100, 7, 0)  # no recording outside the train command


# ---- one real comparison: every registered target from the same start ----


def _mnist_available() -> bool:
    folder = default_data_dir() / "mnist"
    return all((folder / name).is_file() for name in MNIST_FILES)


@pytest.mark.skipif(
    not _mnist_available() and not os.environ.get("NNDSL_REQUIRE_DATA"),
    reason="MNIST not fetched: run `nndsl data fetch mnist`",
)
def test_every_target_starts_from_the_same_weights_and_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = list(targets.python_targets())  # compare trains: inference-only targets stay out
    out, environment = tmp_path / "run", dict(os.environ)
    argv = ["compare", str(ROOT / "specs" / "cnn.nn"), "--limit", "256", "--epochs", "2"]
    code = cli.main(argv + ["--seed", "7", "--out", str(out), "--format", "json"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # stdout holds the document alone
    assert code == 0, captured.err
    runs = doc["runs"]
    assert sorted(r["target"] for r in runs) == sorted(names)
    assert all(r["status"] == "ok" for r in runs), [(r["target"], r["error"]) for r in runs]
    # compare's own digests, computed here once more from its file and the seed
    with np.load(out / "init" / "seed-7.npz") as archive:
        drawn = {name: archive[name] for name in archive.files}
    program = program_of(ROOT / "specs" / "cnn.nn")
    assert initial.weights_sha256(drawn) == initial.weights_sha256(
        initial.initial_weights(program.weights, 7)
    )
    train = 256 - int(256 * 0.1)  # the spec's validation split
    permutations = [np.random.default_rng([7, e]).permutation(train) for e in (0, 1)]
    import hashlib

    order = hashlib.sha256(np.concatenate(permutations).astype("<i8").tobytes()).hexdigest()
    for record in runs:
        assert record["train_samples"] == train and record["seed"] == 7
        assert record["initial_weights_sha256"] == initial.weights_sha256(drawn)
        assert record["batch_order_sha256"] == order
        assert record["weights_match"] and record["order_match"]
        assert "numpy" in record["versions"] and len(record["versions"]) >= 2  # + framework
    assert len({r["initial_weights_sha256"] for r in runs}) == 1  # identical across targets
    assert len({r["batch_order_sha256"] for r in runs}) == 1
    assert dict(os.environ) == environment  # TF_CPP_MIN_LOG_LEVEL: for the children only
    for name in ("results.json", "results.csv", "chart.png", "chart.svg"):
        assert (out / name).is_file()
