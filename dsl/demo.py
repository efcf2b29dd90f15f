"""`nndsl demo`: a static page that runs a spec's TF.js module in the browser; and
`nndsl export --format tfjs`: TF.js' model.json + weights.bin, written by the module itself.

The folder it writes holds index.html (templates/tfjs/demo.html.j2), the generated
`<model>_tfjs.mjs` and `_tfjs_support.mjs` unchanged, the canonical weights, TF.js' browser
bundles and .wasm files from node_modules/ (an import map resolves the module's bare
`@tensorflow/tfjs` imports to them), and, when MNIST is fetched, the first test images.
A person draws a digit or picks a test image and sees the predicted class and probabilities.
Any static file server serves it (ES modules do not load from file:// URLs).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from nndsl import codegen, ir, targets
from nndsl.errors import NndslError

# browser bundles the page needs, from node_modules/@tensorflow/
VENDOR = {
    "tfjs/dist/tf.fesm.min.js": "tf.fesm.min.js",
    "tfjs-backend-wasm/dist/tf-backend-wasm.fesm.min.js": "tf-backend-wasm.fesm.min.js",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm": "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm": "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm": (
        "tfjs-backend-wasm-threaded-simd.wasm"
    ),
}
# node's modules the wasm bundle imports for its node code path: empty in the browser
NODE_BUILTINS = ("fs", "os", "path", "perf_hooks")
SAMPLES = 100
MNIST_PIXELS = 784


def node_modules(start: Path | None = None) -> Path:
    """The node_modules/ folder holding @tensorflow/tfjs: the working directory's or a
    parent's, else the source tree's."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parent.parent):
        if (folder / "node_modules" / "@tensorflow" / "tfjs").is_dir():
            return folder / "node_modules"
    raise NndslError(
        "demo needs TF.js' npm packages: run `npm ci --ignore-scripts` in the repository"
    )


def check_program(program: ir.Program) -> None:
    """The page draws 28x28 digits and shows 10 class probabilities."""
    first, *others = program.inputs
    if others or math.prod(first.shape) != MNIST_PIXELS or first.dtype != "float32":
        raise NndslError(
            f"demo needs one float input of 28x28 pixels; {program.name} takes"
            f" {', '.join(str(i.shape) for i in program.inputs)}"
        )
    if len(program.outputs) != 1 or program.outputs[0].shape != (10,):
        raise NndslError(f"demo needs one output of 10 classes; {program.name} has another")


def check_weights(program: ir.Program, path: Path) -> None:
    """The .npz holds exactly the program's canonical arrays (read without pickles)."""
    from nndsl.onnx_export import WeightsError, read_weights

    try:
        weights = read_weights(path)
    except WeightsError as err:
        raise NndslError(str(err)) from None
    expected = {w.name: w.shape for w in program.weights}
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise NndslError(f"{path}: missing {missing or 'none'}, unexpected {extra or 'none'}")
    for name, shape in expected.items():
        if weights[name].shape != shape:
            raise NndslError(f"{path}: {name} has shape {weights[name].shape}, not {shape}")


def mnist_samples(data_dir: Path | None, count: int = SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` MNIST test images in [0, 1] (float32, (N, 784)) and labels (int32);
    empty arrays when MNIST is not fetched."""
    from nndsl.data import default_data_dir

    folder = (data_dir or default_data_dir()) / "mnist"
    try:
        images = (folder / "t10k-images-idx3-ubyte").read_bytes()[16 : 16 + count * 784]
        labels = (folder / "t10k-labels-idx1-ubyte").read_bytes()[8 : 8 + count]
    except OSError:
        return np.zeros((0, MNIST_PIXELS), np.float32), np.zeros((0,), np.int32)
    x = np.frombuffer(images, np.uint8).reshape(-1, MNIST_PIXELS).astype(np.float32) / 255
    return x, np.frombuffer(labels, np.uint8).astype(np.int32)


def _files(
    program: ir.Program, spec_file: str, weights: Path, data_dir: Path | None
) -> tuple[list[tuple[str, bytes | Path]], int]:
    """(name in the site, bytes or a path to copy) for every file of the page, and the
    number of MNIST test images among them."""
    target = targets.get("tfjs")
    module = f"{program.name}_tfjs.mjs"
    x, y = mnist_samples(data_dir)
    page = (
        codegen.environment()
        .get_template("tfjs/demo.html.j2")
        .render(
            model_name=program.name,
            spec_file=spec_file,
            samples=len(y),
            builtins=NODE_BUILTINS,
        )
    )
    files: list[tuple[str, bytes | Path]] = [
        ("index.html", page.encode()),
        (module, codegen.render(program, target, spec_file).encode()),
        ("_tfjs_support.mjs", codegen.render_support(target).encode()),
        ("weights.npz", weights),
        (
            "vendor/node-builtin.mjs",
            b"// node's modules are not used in a browser\nexport default {};\n",
        ),
    ]
    modules = node_modules()
    files += [
        (f"vendor/{name}", modules / "@tensorflow" / source) for source, name in VENDOR.items()
    ]
    if len(y):
        files += [("mnist_x.npy", _npy(x)), ("mnist_y.npy", _npy(y))]
    return files, len(y)


def _npy(array: np.ndarray) -> bytes:
    with tempfile.TemporaryFile() as handle:
        np.save(handle, array)
        handle.seek(0)
        return handle.read()


def write_site(spec: Path, weights: Path, out: Path, data_dir: Path | None = None) -> int:
    """Write the page's folder; every file is staged first, so a failure writes nothing.
    Returns the number of MNIST test images it holds."""
    program, spec_file = codegen.load_program(spec)
    check_program(program)
    check_weights(program, weights)
    files, samples = _files(program, spec_file, weights, data_dir)
    if out.exists() and not out.is_dir():
        raise NndslError(f"cannot write into {out}: it is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.nndsl-", dir=out.parent))
    try:
        for name, content in files:
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, path)
            else:
                path.write_bytes(content)
        for name, _ in files:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return samples


def export_tfjs(spec: Path, weights: Path, out: Path) -> None:
    """Write `out/model.json` and `out/weights.bin`: the spec's TF.js module, run by node
    from a temporary folder, loads the canonical weights and saves the model TF.js' way."""
    program, spec_file = codegen.load_program(spec)
    check_weights(program, weights)
    node = shutil.which("node")
    if node is None:
        raise NndslError("export --format tfjs needs node (20 or later) on the PATH")
    modules = node_modules()
    target = targets.get("tfjs")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "node_modules").symlink_to(modules)
        module = Path(folder) / f"{program.name}_tfjs.mjs"
        module.write_text(codegen.render(program, target, spec_file))
        (Path(folder) / "_tfjs_support.mjs").write_text(codegen.render_support(target))
        argv = [node, str(module), "export", "--weights", str(weights.resolve())]
        result = subprocess.run(
            [*argv, "--output", str(out.resolve())], capture_output=True, text=True
        )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise NndslError(f"TF.js export failed: {lines[-1] if lines else result.returncode}")
