"""ONNX export from the IR alone (`nndsl export SPEC --format onnx --weights W.npz`).

The model is written for ONNX opset 17 (IR version 8) with the `onnx` package only: no
deep-learning framework is involved, so the export also shows that the IR says everything
a network computes. Its graph:

- inputs: one per model input, named as in the spec, in the canonical channels-last layout
  with a dynamic first axis `batch` (float32; int64 token ids for `tokens` inputs);
- layouts inside: nndsl.forward's planner with the channels-first targets' `wants` puts
  Conv, ConvTranspose, the pools, Pad, Resize and BatchNormalization in NCHW / NCL and
  inserts a Transpose (node and tensor `<tensor>@first` / `<tensor>@last`) only where a
  tensor is needed in the other layout;
- outputs: `<output>.logits` for each model output (the IR's output tensor, channels-last),
  and with `probabilities` also `<output>.probabilities` (the spec's output activation
  applied: softmax over the last axis, sigmoid, or the logits again for a linear output);
- names: the node computing an IR tensor is named after it (`conv2d_1`), the other nodes of
  that layer `<node>/<step>`; an initializer holding a canonical array unchanged has its
  canonical name (`dense_1.kernel`), one converted to its operator's layout carries the
  suffix `.onnx` (`conv2d_1.kernel.onnx`, OIHW); constants that are no weights (shapes,
  pads, implied ones) are `<node>/<what>`.

Weights are required: canonical arrays checked as generated modules check them (names,
shapes, float32 exactly, finite). There is no built-in initialisation: a model is exported
with the weights a generated module saved (`save(model, path)`) or trained.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper, numpy_helper

from nndsl import __version__, ir
from nndsl.errors import NndslError
from nndsl.forward import plan
from nndsl.onnx_layers import LAYERS, OPSET, Layer
from nndsl.targets.channels_first import wants

IR_VERSION = 8  # the ONNX IR version that goes with opset 17 (onnx 1.12)
BATCH = "batch"
MAX_BYTES = 2**31 - 2**26  # a protobuf holds 2 GiB; leave room for the graph itself


class WeightsError(NndslError):
    """A weights file that cannot be read, or arrays that do not fit the spec."""


# --- canonical weights: the rules of the generated harness's read_weights / check_weights ---


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a canonical .npz weights file (no pickles)."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise WeightsError(f"{path}: a .npy array, not an .npz weights file")
        with archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except IsADirectoryError:
        raise WeightsError(f"{path}: a folder, not an .npz weights file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise WeightsError(
            f"{path}: not a readable .npz weights file ({type(err).__name__})"
        ) from None


def check_weights(weights: Mapping[str, np.ndarray], program: ir.Program) -> dict[str, np.ndarray]:
    """Canonical arrays as float32: WeightsError naming a missing, extra, mis-shaped,
    non-float, inexactly converted, NaN or infinite array."""
    shapes = {w.name: w.shape for w in program.weights}
    for name in sorted(set(weights) ^ set(shapes)):
        raise WeightsError(f"{'missing' if name in shapes else 'unexpected'} weight {name!r}")
    out = {}
    for name, shape in shapes.items():
        array = np.asarray(weights[name])
        if tuple(array.shape) != tuple(shape):
            raise WeightsError(
                f"weight {name!r} has shape {tuple(array.shape)}, expected {tuple(shape)}"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise WeightsError(f"weight {name!r} is {array.dtype}; canonical weights are float32")
        converted = array.astype(np.float32)
        if array.dtype != np.float32 and not np.array_equal(converted, array, equal_nan=True):
            raise WeightsError(
                f"weight {name!r} is {array.dtype} and does not convert to float32 exactly"
            )
        if not np.isfinite(converted).all():
            raise WeightsError(f"weight {name!r} holds NaN or infinite values")
        out[name] = converted
    return out


# --- the graph ---


@dataclass
class Graph:
    """The nodes and initializers built so far; every name is unique."""

    nodes: list[NodeProto] = field(default_factory=list)
    initializers: list[TensorProto] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def fresh(self, name: str) -> str:
        """`name`, or `name_2`, `name_3`... if taken."""
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name}_{n}"
        self.names.add(candidate)
        return candidate

    def initializer(self, name: str, array: np.ndarray) -> str:
        name = self.fresh(name)
        array = np.require(array, requirements="C")  # keeps a scalar 0-d, unlike ascontiguousarray
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(
        self, op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs
    ) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))

    def finish(self, name: str, tensor: str, sources: set[str]) -> None:
        """Make `tensor`, a layer's result, the tensor and node called `name` (the IR node's
        name): its producing node is renamed, or an Identity added when it is an input."""
        last = self.nodes[-1] if self.nodes else None
        if tensor not in sources and last is not None and list(last.output[:1]) == [tensor]:
            self.names.discard(tensor)
            last.output[0] = name
            self.names.discard(last.name)
            last.name = name
        else:
            self.node("Identity", [tensor], [name], name=name)
        self.names.add(name)


def _value_info(name: str, dtype: int, shape: tuple[int, ...]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, [BATCH, *shape])


def _outputs(graph: Graph, program: ir.Program, probabilities: bool) -> list:
    """`<output>.logits` (and `<output>.probabilities`) for each model output."""
    infos = []
    for output in program.outputs:
        tensor = output.name
        if f"{tensor}@last" in graph.names:
            tensor = f"{tensor}@last"
        logits = f"{output.name}.logits"
        graph.node("Identity", [tensor], [logits], name=logits)
        infos.append(_value_info(logits, TensorProto.FLOAT, output.shape))
        if probabilities:
            name = f"{output.name}.probabilities"
            if output.activation == "softmax":
                graph.node("Softmax", [logits], [name], name=name, axis=-1)
            elif output.activation == "sigmoid":
                graph.node("Sigmoid", [logits], [name], name=name)
            else:
                graph.node("Identity", [logits], [name], name=name)
            infos.append(_value_info(name, TensorProto.FLOAT, output.shape))
    return infos


def build_model(
    program: ir.Program, weights: Mapping[str, np.ndarray], probabilities: bool = False
) -> onnx.ModelProto:
    """The ONNX model of `program` with its canonical `weights` (checked first)."""
    size = 4 * sum(w.size for w in program.weights)
    if size > MAX_BYTES:
        raise NndslError(
            f"{program.name} has {size / 2**30:.1f} GiB of weights; one ONNX file holds"
            " less than 2 GiB (external data files are not supported)"
        )
    arrays = check_weights(weights, program)
    graph = Graph()
    inputs = []
    for info in program.inputs:
        dtype = TensorProto.INT64 if info.dtype == "int64" else TensorProto.FLOAT
        inputs.append(_value_info(info.name, dtype, info.shape))
        graph.names.add(info.name)
    for step, _ in plan(program, set(), wants).steps:
        if step.node is None:  # a layout change the planner placed
            graph.node("Transpose", list(step.inputs), [step.output], step.output, perm=step.axes)
            graph.names.add(step.output)
            continue
        node = step.node
        params = {w.param: arrays[w.name] for w in node.weights}
        layer = Layer(graph, node, params, step.channels_first)
        result = LAYERS[node.op.kind](layer, *step.inputs)
        graph.finish(node.name, result, set(step.inputs))
    outputs = _outputs(graph, program, probabilities)
    body = helper.make_graph(
        graph.nodes, program.name, inputs, outputs, initializer=graph.initializers
    )
    model = helper.make_model(
        body,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="nndsl",
        producer_version=__version__,
        doc_string=f"{program.name} from {Path(program.source).name}: channels-last inputs",
    )
    helper.set_model_props(
        model,
        {f"{o.name}.activation": o.activation for o in program.outputs}
        | {"nndsl.layout": "channels_last"},
    )
    return model


def _mode(path: Path) -> int:
    """The mode the file gets: the existing file's, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_model(model: onnx.ModelProto, path: str | Path) -> Path:
    """Check the model, then write it through a temporary file in the same folder and a
    rename: `path` is either the complete new file or left as it was (a symbolic link is
    written through, an existing file keeps its mode)."""
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    if path.is_dir():
        raise NndslError(f"cannot write {path}: it is a folder")
    path = path.resolve() if path.is_symlink() else path
    if not path.parent.is_dir():
        raise NndslError(f"cannot write {path}: no folder {path.parent}")
    data, mode = model.SerializeToString(), _mode(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nndsl-tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        raise NndslError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def export(
    program: ir.Program,
    weights: Mapping[str, np.ndarray],
    path: str | Path,
    probabilities: bool = False,
) -> Path:
    """Build, check and atomically write the ONNX model of `program`."""
    return write_model(build_model(program, weights, probabilities), path)
