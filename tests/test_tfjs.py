"""The tfjs target under node: parameter counts, and forward parity with the torch target for
every spec in specs/ (the same canonical weights and inputs), through the module's own
command line (`node <model>_tfjs.mjs predict ... --weights W.npz`).

Skips with one line where node or the npm packages (`npm ci --ignore-scripts`) are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nndsl import codegen, ir, reference, targets
from tests.cases import CASES, load, random_inputs, random_weights
from tests.conftest import ROOT, SPECS, program_of

NODE = shutil.which("node")
MODULES = ROOT / "node_modules"
if NODE is None:
    pytest.skip("node is not installed: the tfjs tests need it", allow_module_level=True)
if not (MODULES / "@tensorflow" / "tfjs").is_dir():
    pytest.skip("node_modules/ is missing: run `npm ci --ignore-scripts`", allow_module_level=True)

TARGET = targets.get("tfjs")
# float32 logits of order 1 from two frameworks; deep nets' larger logits (resnet18's reach
# 16 with these weights, and keras differs from torch by 9e-6 there) scale it
ATOL = 1e-5


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for generated .mjs modules that resolves `@tensorflow/tfjs` like generated/."""
    out = tmp_path_factory.mktemp("tfjs")
    (out / "node_modules").symlink_to(MODULES)
    (out / "_tfjs_support.mjs").write_text(codegen._support_source(TARGET))
    return out


def node(module: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a generated module's command line."""
    result = subprocess.run(
        [NODE, str(module), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_OPTIONS": ""},
    )
    if check:
        assert result.returncode == 0, result.stderr[-2000:]
    return result


def module_file(program: ir.Program, folder: Path) -> Path:
    path = folder / f"{program.name}_tfjs.mjs"
    path.write_text(codegen.render_source(program, TARGET, "spec.nn"))
    return path


def _unsupported(program: ir.Program) -> str | None:
    for node_info in program.nodes:
        for kind in (node_info.op.kind, getattr(getattr(node_info.op, "layer", None), "kind", "")):
            if kind in TARGET.unsupported:
                return f"tfjs does not support {kind}: {TARGET.unsupported[kind]}"
    return None


def test_cnn_counts_34826(folder: Path):
    program = program_of(ROOT / "specs" / "cnn.nn")
    out = node(module_file(program, folder), "summary").stdout
    assert out.strip() == "cnn (tfjs): 34,826 trainable, 0 non-trainable parameters"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_forward_parity_with_torch(spec: Path, folder: Path, package, tmp_path: Path):
    program = program_of(spec)
    reason = _unsupported(program)
    if reason:
        pytest.skip(reason)
    module = module_file(program, folder)
    out = node(module, "summary").stdout
    counts = f"{program.trainable_params:,} trainable, {program.non_trainable_params:,} non"
    assert counts in out, out
    weights = random_weights(program)
    inputs = random_inputs(program)
    np.savez(tmp_path / "w.npz", **weights)
    paths = []
    for name, array in inputs.items():
        paths.append(str(tmp_path / f"{name}.npy"))
        np.save(paths[-1], array)
    torch_module = package.module(program, "torch")
    model = torch_module.build_model(device="cpu")
    torch_module.import_weights(model, weights)
    x = next(iter(inputs.values())) if len(inputs) == 1 else inputs
    expected = torch_module.predict(model, x)
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    several = len(program.outputs) > 1
    output = tmp_path / ("out.npz" if several else "out.npy")
    node(module, "predict", *paths, "--weights", str(tmp_path / "w.npz"), "--output", str(output))
    if several:
        with np.load(output) as archive:
            got = [archive[o.name] for o in program.outputs]
    else:
        got = [np.load(output)]
    for info, ours, theirs in zip(program.outputs, got, expected, strict=True):
        assert ours.shape == theirs.shape, (info.name, ours.shape, theirs.shape)
        diff = float(np.max(np.abs(ours.astype(np.float64) - theirs)))
        scale = max(1.0, float(np.max(np.abs(theirs))))
        assert diff < ATOL * scale, f"{info.name}: max abs diff {diff:.3g} from torch"


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_every_layer_case_matches_the_reference(backend: str, folder: Path, tmp_path: Path):
    """The contract of tests/test_contract.py for tfjs: every layer case's parameter count
    and logits against the numpy reference, all cases in one node process per backend."""
    manifest, expected = [], {}
    for case_id, body in CASES:
        program = load(body)
        module = folder / f"case_{len(manifest)}_tfjs.mjs"
        module.write_text(codegen.render_source(program, TARGET, "case.nn"))
        weights, inputs = random_weights(program), random_inputs(program)
        np.savez(tmp_path / f"{case_id}.npz", **weights)
        paths = []
        for name, array in inputs.items():
            paths.append(str(tmp_path / f"{case_id}-{name}.npy"))
            np.save(paths[-1], array.astype(np.int32) if array.dtype == np.int64 else array)
        output = str(tmp_path / f"{case_id}-out.npz")
        manifest.append(
            {
                "module": module.as_uri(),
                "weights": str(tmp_path / f"{case_id}.npz"),
                "inputs": paths,
                "output": output,
            }
        )
        expected[case_id] = (output, reference.run(program, weights, inputs))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    runner = folder / "tfjs_cases.mjs"
    runner.write_text((ROOT / "tests" / "tfjs_cases.mjs").read_text())
    node(runner, str(tmp_path / "manifest.json"), backend)
    failures = []
    for case_id, (output, theirs) in expected.items():
        if Path(output + ".err").exists():
            failures.append(f"{case_id}: {Path(output + '.err').read_text()}")
            continue
        with np.load(output) as archive:
            ours = [archive[f"out{i}"] for i in range(len(theirs))]
        for got, want in zip(ours, theirs, strict=True):
            diff = (
                float(np.max(np.abs(got.astype(np.float64) - want)))
                if got.shape == want.shape
                else np.inf
            )
            if not diff < ATOL * max(1.0, float(np.max(np.abs(want)))):
                failures.append(
                    f"{case_id}: shape {got.shape} vs {want.shape}, max abs diff {diff:.3g}"
                )
    assert not failures, "\n".join(failures)


def test_cpu_backend_and_probabilities_agree_with_wasm(folder: Path, tmp_path: Path):
    program = program_of(ROOT / "specs" / "cnn.nn")
    module = module_file(program, folder)
    np.savez(tmp_path / "w.npz", **random_weights(program))
    np.save(tmp_path / "x.npy", random_inputs(program)["input"])
    runs = {}
    for backend in ("wasm", "cpu"):
        out = tmp_path / f"{backend}.npy"
        args = ("--weights", str(tmp_path / "w.npz"), "--output", str(out), "--backend", backend)
        node(module, "predict", str(tmp_path / "x.npy"), "--probabilities", *args)
        runs[backend] = np.load(out)
    np.testing.assert_allclose(runs["wasm"], runs["cpu"], atol=1e-6)
    np.testing.assert_allclose(runs["cpu"].sum(axis=1), 1.0, atol=1e-6)


def test_bad_input_is_one_line_and_exit_2(folder: Path, tmp_path: Path):
    program = program_of(ROOT / "specs" / "cnn.nn")
    module = module_file(program, folder)
    weights = random_weights(program)
    weights.pop("dense_1.bias")
    np.savez(tmp_path / "w.npz", **weights)
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28, 1), np.float32))
    for args in (
        ("predict", str(tmp_path / "x.npy"), "--weights", str(tmp_path / "w.npz")),
        ("predict", str(tmp_path / "x.npy"), "--weights", str(tmp_path / "none.npz")),
        ("predict", str(tmp_path / "w.npz"), "--weights", str(tmp_path / "w.npz")),
        ("evaluate", "--weights", str(tmp_path / "w.npz"), "--limit", "zero"),
        ("fly",),
    ):
        result = node(module, *args, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
def test_evaluate_matches_torch_on_mnist(folder: Path, package, tmp_path: Path):
    data = Path(os.environ.get("NNDSL_DATA_DIR", Path.home() / ".cache" / "nndsl")) / "mnist"
    if not (data / "t10k-images-idx3-ubyte").is_file():
        pytest.skip("MNIST is not fetched (nndsl data fetch mnist)")
    program = program_of(ROOT / "specs" / "cnn.nn")
    weights = random_weights(program)
    np.savez(tmp_path / "w.npz", **weights)
    torch_module = package.module(program, "torch")
    model = torch_module.build_model(device="cpu")
    torch_module.import_weights(model, weights)
    _, (x, y) = torch_module.load_data(data.parent, limit=500)
    expected = torch_module.evaluate(model, x, y)
    args = ("evaluate", "--weights", str(tmp_path / "w.npz"), "--limit", "500")
    out = node(module_file(program, folder), *args, "--data-dir", str(data.parent)).stdout
    assert out.strip() == (
        f"test loss {expected['loss']:.4f}, test accuracy {expected['accuracy']:.4f}"
    )
