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


def test_standalone_output_runs_on_its_own(folder: Path):
    """`nndsl gen -t tfjs -o -` inlines the support module (a GRU spec uses its layers)."""
    program = program_of(ROOT / "specs" / "seq_models.nn")
    alone = folder / "alone.mjs"
    alone.write_text(codegen.render(program, TARGET, "seq_models.nn", standalone=True))
    assert "seq_models (tfjs): 1,459 trainable" in node(alone, "summary").stdout


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


CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")


@pytest.fixture
def served(tmp_path: Path):
    """A static HTTP server on a free port for a folder: yields (folder, base URL)."""
    import functools
    import http.server
    import threading

    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def _quiet_handler():
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: ANN002 - the test's output stays clean
            pass

    return Handler


_QuietHandler = _quiet_handler()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
def test_demo_page_predicts_like_torch_in_headless_chromium(served, package, tmp_path: Path):
    from nndsl.cli import main

    data = Path(os.environ.get("NNDSL_DATA_DIR", Path.home() / ".cache" / "nndsl"))
    if not (data / "mnist" / "t10k-images-idx3-ubyte").is_file():
        pytest.skip("MNIST is not fetched (nndsl data fetch mnist)")
    if not (MODULES / "playwright-core").is_dir():
        pytest.skip("playwright-core is missing: run `npm ci --ignore-scripts`")
    site, url = served
    spec = ROOT / "specs" / "cnn.nn"
    program = program_of(spec)
    weights = random_weights(program, seed=3)
    np.savez(tmp_path / "w.npz", **weights)
    argv = ["demo", str(spec), "--weights", str(tmp_path / "w.npz"), "-o", str(site)]
    assert main([*argv, "--data-dir", str(data)]) == 0
    sample = 7
    result = node(ROOT / "tests" / "demo_check.mjs", url, str(sample)).stdout
    page = json.loads(result.strip().splitlines()[-1])
    assert page["errors"] == [] and "wasm" in page["backend"], page
    torch_module = package.module(program, "torch")
    model = torch_module.build_model(device="cpu")
    torch_module.import_weights(model, weights)
    _, (x, _) = torch_module.load_data(data, limit=sample + 1)
    expected = torch_module.predict(model, x[sample : sample + 1], probabilities=True)[0]
    assert page["sample"]["class"] == int(np.argmax(expected))
    np.testing.assert_allclose(page["sample"]["probabilities"], expected, atol=1e-5)
    assert page["drawn"]["class"] in range(10)


def test_demo_refuses_bad_input_with_one_line(tmp_path: Path, capsys):
    from nndsl.cli import main

    program = program_of(ROOT / "specs" / "cnn.nn")
    np.savez(tmp_path / "w.npz", **random_weights(program))
    out = tmp_path / "site"
    for spec, weights in (
        ("imdb_lstm.nn", "w.npz"),  # not a 28x28 image
        ("cnn.nn", "none.npz"),
        ("mlp.nn", "w.npz"),  # another model's weights
    ):
        args = ["demo", str(ROOT / "specs" / spec), "--weights", str(tmp_path / weights)]
        assert main([*args, "-o", str(out)]) == 2, spec
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
        assert not out.exists()


def test_compare_leaves_tfjs_out_and_refuses_it_by_name(capsys):
    from nndsl.cli import main

    assert "tfjs" not in targets.python_targets() and not TARGET.trains
    assert main(["compare", str(ROOT / "specs" / "cnn.nn"), "--targets", "tfjs"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not train" in err


@pytest.mark.parametrize("spec", ["cnn", "seq_models"])
def test_export_loads_with_tf_load_layers_model(spec: str, folder: Path, tmp_path: Path):
    """`nndsl export --format tfjs` writes model.json + weights.bin that tf.loadLayersModel
    reads (a GRU spec uses the support module's layers) and that predict as the module does."""
    from nndsl.cli import main

    path = ROOT / "specs" / f"{spec}.nn"
    program = program_of(path)
    np.savez(tmp_path / "w.npz", **random_weights(program))
    np.save(tmp_path / "x.npy", random_inputs(program)["input"])
    export = tmp_path / "export"
    argv = ["export", str(path), "--format", "tfjs", "--weights", str(tmp_path / "w.npz")]
    assert main([*argv, "-o", str(export)]) == 0
    assert {p.name for p in export.iterdir()} == {"model.json", "weights.bin"}
    module = module_file(program, folder)
    args = ("--weights", str(tmp_path / "w.npz"), "--output", str(tmp_path / "module.npy"))
    node(module, "predict", str(tmp_path / "x.npy"), *args, "--backend", "cpu")
    loader = folder / "tfjs_load_export.mjs"
    loader.write_text((ROOT / "tests" / "tfjs_load_export.mjs").read_text())
    node(loader, str(export), str(tmp_path / "x.npy"), str(tmp_path / "loaded.npy"))
    np.testing.assert_array_equal(
        np.load(tmp_path / "loaded.npy"), np.load(tmp_path / "module.npy")
    )
