"""ONNX export (nndsl.onnx_export, `nndsl export`): every layer case and every spec checked
by onnx's checker and strict shape inference, run under onnxruntime at batch 5 and 1 and
compared with the numpy reference (and the specs with the torch module); names, the
probabilities output, the command line and its weight checks."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nndsl import cli, ir, reference
from tests.cases import CASES, load, random_inputs, random_weights
from tests.conftest import SPECS, TARGETS, program_of
from tests.test_contract import ATOL, predict_all

onnx = pytest.importorskip("onnx", reason="ONNX export needs the extra nndsl[onnx] (onnx)")
ort = pytest.importorskip(
    "onnxruntime", reason="running exported models needs the extra nndsl[onnx] (onnxruntime)"
)

from nndsl import onnx_export, onnx_layers  # noqa: E402  (after the extra is known present)


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # a shared machine: one core per test
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def checked(program: ir.Program, weights: dict, probabilities: bool = False):
    """The exported model after the full checker and strict shape inference, whose outputs
    must be inferred as (batch, *shape)."""
    model = onnx_export.build_model(program, weights, probabilities)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, check_type=True)
    shapes = {}
    for output in inferred.graph.output:
        dims = output.type.tensor_type.shape.dim
        shapes[output.name] = tuple(d.dim_param or d.dim_value for d in dims)
    for output in program.outputs:
        assert shapes[f"{output.name}.logits"] == (onnx_export.BATCH, *output.shape)
    return model


def logits(program: ir.Program, runner: ort.InferenceSession, inputs: dict) -> list:
    return runner.run([f"{o.name}.logits" for o in program.outputs], inputs)


def max_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    return float(np.max(np.abs(ours.astype(np.float64) - theirs)))


def test_every_kind_has_a_builder_and_a_case():
    assert set(onnx_layers.LAYERS) == set(ir.LAYERS)
    covered = {node.op.kind for _, body in CASES for node in load(body).nodes}
    assert set(ir.LAYERS) - covered == set()


@pytest.mark.parametrize("body", [pytest.param(body, id=case) for case, body in CASES])
def test_case_matches_the_reference(body):
    """Batch 5 against the reference; batch 1 (the dynamic batch axis) equals its first row."""
    program = load(body)
    weights = random_weights(program)
    runner = session(checked(program, weights))
    inputs = random_inputs(program, batch=5)
    expected = reference.run(program, weights, inputs)
    for output, ours, theirs in zip(program.outputs, logits(program, runner, inputs), expected):
        diff = max_diff(ours, theirs)
        assert diff < ATOL, f"{output.name}: max abs diff {diff:.3g} from the reference"
    first = {name: array[:1] for name, array in inputs.items()}
    for output, ours, theirs in zip(program.outputs, logits(program, runner, first), expected):
        diff = max_diff(ours, theirs[:1])
        assert diff < ATOL, f"{output.name} at batch 1: max abs diff {diff:.3g}"


@pytest.mark.parametrize("spec", [pytest.param(spec, id=spec.stem) for spec in SPECS])
def test_spec_matches_the_reference_and_every_target(spec, modules):
    """Float32 error grows with the logits' size (ResNet-18's reach ~16), so the tolerance
    scales with it as in test_specs."""
    program = program_of(spec)
    weights = random_weights(program)
    runner = session(checked(program, weights))
    inputs = random_inputs(program, batch=2)
    got = logits(program, runner, inputs)
    expected = reference.run(program, weights, inputs)
    for output, ours, theirs in zip(program.outputs, got, expected, strict=True):
        scale = max(1.0, float(np.max(np.abs(theirs))))
        diff = max_diff(ours, theirs)
        assert diff < ATOL * scale, f"{output.name}: max abs diff {diff:.3g} (scale {scale:.3g})"
    for target in TARGETS:  # and every target's predict, directly
        module = modules(spec, target)
        model = module.build_model(device="cpu")
        module.import_weights(model, weights)
        theirs_all = predict_all(module, model, program, inputs)
        for output, ours, theirs in zip(program.outputs, got, theirs_all, strict=True):
            scale = max(1.0, float(np.max(np.abs(theirs))))
            diff = max_diff(ours, theirs.astype(np.float64))
            assert diff < ATOL * scale, f"{output.name}: {diff:.3g} from {target} ({scale:.3g})"


NAMED = {
    "graph": "input a = image(6, 6, 2)\ninput b = vector(3)\n"
    "x = a -> conv2d(4, 3, activation=relu) -> batchnorm(scale=false) -> flatten()\n"
    "y = b -> dense(4)\nz = concatenate(x, y)\nu = z -> dense(2)\nv = b -> dense(1)\n"
    "output u, v",
    "recurrent": "input sequence(5, 3)\nbidirectional(lstm(4, return_sequences=true))\ngru(3)",
}


@pytest.mark.parametrize("body", NAMED.values(), ids=NAMED.keys())
def test_names(body):
    program = load(body)
    weights = random_weights(program)
    model = checked(program, weights)
    graph = model.graph
    assert [i.name for i in graph.input] == [i.name for i in program.inputs]
    for given, info in zip(graph.input, program.inputs):
        dims = [d.dim_param or d.dim_value for d in given.type.tensor_type.shape.dim]
        assert dims == [onnx_export.BATCH, *info.shape]
    assert [o.name for o in graph.output] == [f"{o.name}.logits" for o in program.outputs]
    nodes = {node.name: node for node in graph.node}
    assert len(nodes) == len(graph.node)
    for info in program.nodes:  # the node computing an IR tensor carries its name
        assert list(nodes[info.name].output) == [info.name]
    initializers = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    for weight in program.weights:
        if weight.name in initializers:  # stored unchanged
            np.testing.assert_array_equal(initializers[weight.name], weights[weight.name])
        else:
            assert weight.name + onnx_layers.CONVERTED in initializers, weight.name
    canonical = {w.name for w in program.weights}
    for name in initializers:
        owner = name.split("/")[0] if "/" in name else name.removesuffix(onnx_layers.CONVERTED)
        assert owner in canonical or (
            "/" in name and owner in {n.name for n in program.nodes}
        ), name
    assert model.opset_import[0].version == onnx_layers.OPSET == 17


PROBABILITIES = {
    "softmax-and-linear": "input a = vector(4)\nx = a -> dense(3, activation=softmax)\n"
    "y = a -> dense(2)\noutput x, y",
    "sigmoid": "input image(5, 5, 2)\nconv2d(3, 2)\nflatten()\ndense(1, activation=sigmoid)",
    "softmax-image": "input image(5, 5, 2)\nconv2d(3, 2, activation=softmax)",
}


@pytest.mark.parametrize("body", PROBABILITIES.values(), ids=PROBABILITIES.keys())
def test_probabilities_output(body):
    program = load(body)
    weights = random_weights(program)
    plain = checked(program, weights)
    assert not any(o.name.endswith(".probabilities") for o in plain.graph.output)
    runner = session(checked(program, weights, probabilities=True))
    names = [o.name for o in runner.get_outputs()]
    assert names == [
        f"{o.name}.{what}" for o in program.outputs for what in ("logits", "probabilities")
    ]
    inputs = random_inputs(program, batch=4)
    got = runner.run(None, inputs)
    expected = reference.run(program, weights, inputs)
    for output, ours, theirs in zip(program.outputs, got[1::2], expected):
        if output.activation == "softmax":
            theirs = reference.softmax(theirs)
        elif output.activation == "sigmoid":
            theirs = reference.sigmoid(theirs)
        assert max_diff(ours, theirs) < ATOL, output.name


# --- the command line ---

SPEC = "model small {\n  input image(6, 5, 2)\n  conv2d(3, 3)\n  flatten()\n  dense(4, activation=softmax)\n}\n"


@pytest.fixture
def small(tmp_path):
    """A spec file, its program and a canonical weights file."""
    spec = tmp_path / "small.nn"
    spec.write_text(SPEC)
    program = program_of(spec)
    weights = random_weights(program)
    np.savez(tmp_path / "w.npz", **weights)
    return spec, program, weights


def export(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["export", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exports_a_model(small, tmp_path, capsys):
    spec, program, weights = small
    target = tmp_path / "small.onnx"
    code, out, err = export(
        capsys, spec, "--format", "onnx", "--weights", tmp_path / "w.npz", "-o", target
    )
    assert (code, err) == (0, "")
    assert out == f"wrote {target} (ONNX opset 17)\n"
    model = onnx.load(target)
    onnx.checker.check_model(model, full_check=True)
    inputs = random_inputs(program, batch=3)
    (ours,) = logits(program, session(model), inputs)
    (theirs,) = reference.run(program, weights, inputs)
    assert max_diff(ours, theirs) < ATOL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.nn", "small.onnx", "w.npz"]


def test_cli_probabilities_and_default_output(small, tmp_path, capsys, monkeypatch):
    spec, program, weights = small
    monkeypatch.chdir(tmp_path)
    code, out, err = export(capsys, spec, "--weights", "w.npz", "--probabilities")
    assert (code, err) == (0, "")
    model = onnx.load(tmp_path / "small.onnx")
    assert [o.name for o in model.graph.output] == ["dense_1.logits", "dense_1.probabilities"]


def test_cli_without_the_extra(small, tmp_path, capsys, monkeypatch):
    """Without onnx installed (its import fails): one line naming the extra, exit 2."""
    spec, _, _ = small
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, out, err = export(
        capsys, spec, "--weights", tmp_path / "w.npz", "-o", tmp_path / "m.onnx"
    )
    assert code == 2 and out == ""
    assert err == "nndsl: error: ONNX export needs the onnx package: pip install 'nndsl[onnx]'\n"
    assert not (tmp_path / "m.onnx").exists()


def _broken(weights: dict, how: str) -> dict:
    weights = dict(weights)
    if how == "missing":
        del weights["conv2d_1.bias"]
    elif how == "unexpected":
        weights["conv2d_9.kernel"] = np.zeros(3, np.float32)
    elif how == "shape":
        weights["conv2d_1.kernel"] = weights["conv2d_1.kernel"][:2]
    elif how == "integer":
        weights["dense_1.bias"] = np.zeros(4, np.int64)
    elif how == "inexact":
        weights["dense_1.bias"] = np.full(4, 0.1, np.float64)
    elif how == "nan":
        weights["dense_1.bias"] = np.full(4, np.nan, np.float32)
    return weights


WEIGHT_ERRORS = {
    "missing": "missing weight 'conv2d_1.bias'",
    "unexpected": "unexpected weight 'conv2d_9.kernel'",
    "shape": "weight 'conv2d_1.kernel' has shape (2, 3, 2, 3), expected (3, 3, 2, 3)",
    "integer": "weight 'dense_1.bias' is int64; canonical weights are float32",
    "inexact": "weight 'dense_1.bias' is float64 and does not convert to float32 exactly",
    "nan": "weight 'dense_1.bias' holds NaN or infinite values",
}


@pytest.mark.parametrize(("how", "message"), WEIGHT_ERRORS.items(), ids=WEIGHT_ERRORS.keys())
def test_cli_weight_errors(small, tmp_path, capsys, how, message):
    """One line, exit 2, and an existing output file left as it was."""
    spec, _, weights = small
    np.savez(tmp_path / "bad.npz", **_broken(weights, how))
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")
    code, out, err = export(capsys, spec, "--weights", tmp_path / "bad.npz", "-o", target)
    assert (code, out, err) == (2, "", f"nndsl: error: {message}\n")
    assert target.read_bytes() == b"previous"


def test_cli_weights_files(small, tmp_path, capsys):
    spec, _, weights = small
    target = tmp_path / "m.onnx"
    np.save(tmp_path / "one.npy", weights["dense_1.bias"])
    (tmp_path / "text.npz").write_text("not a zip")
    exact = {name: array.astype(np.float64) for name, array in weights.items()}
    np.savez(tmp_path / "exact.npz", **exact)
    cases = {
        None: "export needs --weights W.npz",
        tmp_path / "absent.npz": "weights file not found:",
        tmp_path / "one.npy": "a .npy array, not an .npz weights file",
        tmp_path / "text.npz": "not a readable .npz weights file",
    }
    for path, message in cases.items():
        code, out, err = export(capsys, spec, "-o", target, *(("--weights", path) if path else ()))
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert err.startswith("nndsl: error: ") and message in err
        assert not target.exists()
    # float64 arrays that are exactly float32 values are accepted, as generated modules do
    assert export(capsys, spec, "--weights", tmp_path / "exact.npz", "-o", target)[0] == 0


def test_cli_output_paths(small, tmp_path, capsys):
    spec, _, _ = small
    weights = tmp_path / "w.npz"
    for target, message in (
        (tmp_path / "absent" / "m.onnx", "no folder"),
        (tmp_path, "it is a folder"),
    ):
        code, out, err = export(capsys, spec, "--weights", weights, "-o", target)
        assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "absent").exists()
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")
    target.chmod(0o640)
    assert export(capsys, spec, "--weights", weights, "-o", target)[0] == 0
    assert target.stat().st_mode & 0o777 == 0o640  # replaced, keeping its mode
    onnx.checker.check_model(onnx.load(target))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_spec_error(tmp_path, capsys):
    spec = tmp_path / "bad.nn"
    spec.write_text("model m {\n  input vector(3)\n  conv2d(2, 3)\n}\n")
    np.savez(tmp_path / "w.npz")
    code, out, err = export(capsys, spec, "--weights", tmp_path / "w.npz")
    assert code == 2 and "conv2d needs an image" in err
