"""Recurrent layers and merges: the layers of sequence models and of graphs.

Recurrent semantics are Keras 3's (docs/semantics.md): gate order i, f, c, o (LSTM) and
z, r, h (GRU); one LSTM/simple-RNN bias; the GRU computes `reset_after` with two biases.
Frameworks that keep a second recurrent bias hold it at zero and frozen, outside the count.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from nndsl.ir.base import ArgError, Initializer, PositiveInt, catalogue, union_of
from nndsl.ir.layers import Activation, Op, Tanh


class _Recurrent(Op):
    """Fields shared by the recurrent layers; input (steps, features)."""

    category: ClassVar[str] = "recurrent"
    positional: ClassVar[tuple[str, ...]] = ("units",)
    gates: ClassVar[int] = 1
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    doc_shapes: ClassVar[tuple[str, str]] = (
        "(T, F)",
        "(units,); (T, units) with return_sequences",
    )
    units: PositiveInt
    return_sequences: bool = False
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"
    recurrent_initializer: Initializer = "orthogonal"
    bias_initializer: Initializer = "zeros"


class SimpleRnn(_Recurrent):
    """h_t = activation(x_t·kernel + h_(t-1)·recurrent_kernel + bias), h_0 = 0.

    Weights: kernel (F, units), recurrent_kernel (units, units), bias (units,).
    """

    kind: Literal["simple_rnn"] = "simple_rnn"
    doc_params: ClassVar[str] = "units·(F + units + 1)"
    activation: Activation = Tanh()

    @model_validator(mode="after")
    def _check(self) -> SimpleRnn:
        if self.activation.kind not in ("tanh", "relu"):
            raise ArgError(
                "activation",
                f"activation must be tanh or relu (every framework's RNN kernel has those),"
                f" got {self.activation.kind}",
            )
        return self


class Lstm(_Recurrent):
    """Keras' LSTM: gates x_t·kernel + h·recurrent_kernel + bias split as i, f, c, o;
    i, f, o sigmoid, c tanh; c_t = f·c + i·g; h_t = o·tanh(c_t); h_0 = c_0 = 0.

    Weights: kernel (F, 4·units), recurrent_kernel (units, 4·units), bias (4·units,).
    unit_forget_bias starts the forget gate's bias at 1.
    """

    kind: Literal["lstm"] = "lstm"
    gates: ClassVar[int] = 4
    doc_params: ClassVar[str] = "4·units·(F + units + 1)"
    unit_forget_bias: bool = True


class Gru(_Recurrent):
    """Keras 3's GRU (reset_after): x_t·kernel + bias[0] and h·recurrent_kernel + bias[1]
    split as z, r, h; z, r sigmoid; candidate tanh(x_h + r·h_h);
    h_t = z·h_(t-1) + (1 - z)·candidate.

    Weights: kernel (F, 3·units), recurrent_kernel (units, 3·units), bias (2, 3·units).
    """

    kind: Literal["gru"] = "gru"
    gates: ClassVar[int] = 3
    doc_params: ClassVar[str] = "3·units·(F + units + 2)"


RECURRENT = catalogue("recurrent")
Recurrent = union_of(RECURRENT.values())


class Bidirectional(Op):
    """A recurrent layer run forward and over the reversed sequence, outputs merged
    (concat, sum, mul or ave); with return_sequences the backward outputs are re-reversed
    to line up with the steps. Weights: forward_<param> and backward_<param>."""

    kind: Literal["bidirectional"] = "bidirectional"
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    positional: ClassVar[tuple[str, ...]] = ("layer",)
    doc_shapes: ClassVar[tuple[str, str]] = ("(T, F)", "the layer's, units doubled by concat")
    doc_params: ClassVar[str] = "2 x the layer's"
    layer: Recurrent
    merge: Literal["concat", "sum", "mul", "ave"] = "concat"


# --- merges: several tensors in, one out ---


class MergeOp(Op):
    """A merge of two or more tensors, written with tensor names: `add(x, shortcut)`."""

    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None
    doc_shapes: ClassVar[tuple[str, str]] = ("n tensors of one shape", "that shape")


class Add(MergeOp):
    """Elementwise sum."""

    kind: Literal["add"] = "add"


class Subtract(MergeOp):
    """First minus second (exactly two inputs)."""

    kind: Literal["subtract"] = "subtract"
    max_inputs: ClassVar[int | None] = 2


class Multiply(MergeOp):
    """Elementwise product."""

    kind: Literal["multiply"] = "multiply"


class Average(MergeOp):
    """Elementwise mean."""

    kind: Literal["average"] = "average"


class Maximum(MergeOp):
    """Elementwise maximum."""

    kind: Literal["maximum"] = "maximum"


class Concatenate(MergeOp):
    """Join along `axis`, counted as Keras does: 0 is the batch axis (not allowed), 1 the
    first canonical axis, -1 the channels; other axes must agree."""

    kind: Literal["concatenate"] = "concatenate"
    doc_shapes: ClassVar[tuple[str, str]] = ("tensors equal but on axis", "sizes summed on axis")
    axis: int = -1
