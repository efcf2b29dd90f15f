"""Activations and layers: one class per kind, every math-bearing default a field.

Shapes are canonical: channels-last, no batch axis. `doc_shapes` (input, output) and
`doc_params` describe each kind for docs/language.md; the rules themselves are in
nndsl/infer.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from nndsl.ir.base import (
    ArgError,
    Initializer,
    Node,
    NonNegativeFloat,
    NonNegativeInt,
    Padding,
    PositiveFloat,
    PositiveInt,
    Probability,
    catalogue,
    union_of,
    widen_tuples,
)


class Op(Node):
    """A layer: one node of the model's graph."""

    category: ClassVar[str] = "layer"
    doc_shapes: ClassVar[tuple[str, str]] = ("any", "unchanged")
    doc_params: ClassVar[str] = "0"
    # the input ranks (canonical, no batch axis) the layer accepts; None: any rank >= 1
    ranks: ClassVar[tuple[int, ...] | None] = None


# --- activations: usable as layers and as the `activation=` argument of dense/conv ---


class ActivationOp(Op):
    """An elementwise activation (shape unchanged, no parameters)."""

    category: ClassVar[str] = "activation"


class Linear(ActivationOp):
    """Identity."""

    kind: Literal["linear"] = "linear"


class Relu(ActivationOp):
    """max(x, 0)."""

    kind: Literal["relu"] = "relu"


class Relu6(ActivationOp):
    """min(max(x, 0), 6)."""

    kind: Literal["relu6"] = "relu6"


class Sigmoid(ActivationOp):
    """1 / (1 + exp(-x))."""

    kind: Literal["sigmoid"] = "sigmoid"


class Tanh(ActivationOp):
    """Hyperbolic tangent."""

    kind: Literal["tanh"] = "tanh"


class Softmax(ActivationOp):
    """Softmax over the channels axis (-1 in the canonical channels-last layout)."""

    kind: Literal["softmax"] = "softmax"
    positional: ClassVar[tuple[str, ...]] = ("axis",)
    axis: Literal[-1] = -1


class LeakyRelu(ActivationOp):
    """x if x > 0 else negative_slope * x (Keras' layer default 0.3, always emitted)."""

    kind: Literal["leaky_relu"] = "leaky_relu"
    positional: ClassVar[tuple[str, ...]] = ("negative_slope",)
    negative_slope: NonNegativeFloat = 0.3


class Elu(ActivationOp):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    kind: Literal["elu"] = "elu"
    positional: ClassVar[tuple[str, ...]] = ("alpha",)
    alpha: PositiveFloat = 1.0


class Selu(ActivationOp):
    """Scaled ELU with the fixed constants of Klambauer et al."""

    kind: Literal["selu"] = "selu"


class Gelu(ActivationOp):
    """GELU; exact (erf) unless approximate=true (tanh form)."""

    kind: Literal["gelu"] = "gelu"
    positional: ClassVar[tuple[str, ...]] = ("approximate",)
    approximate: bool = False


class Silu(ActivationOp):
    """x * sigmoid(x)."""

    kind: Literal["silu"] = "silu"


ACTIVATIONS = catalogue("activation")
Activation = union_of(ACTIVATIONS.values())


# --- dense and convolutions ---


class _Kernel(Op):
    """Fields shared by layers with a kernel, a bias and a fused activation."""

    activation: Activation = Linear()
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"


class Dense(_Kernel):
    """Fully connected layer acting on the last axis (per step on a sequence); kernel (in, out)."""

    kind: Literal["dense"] = "dense"
    positional: ClassVar[tuple[str, ...]] = ("units",)
    doc_shapes: ClassVar[tuple[str, str]] = ("(..., n)", "(..., units)")
    doc_params: ClassVar[str] = "n·units + units"
    units: PositiveInt


class _Conv(_Kernel):
    """Shared fields of conv1d/conv2d; kernels are stored spatial-dims, in, out."""

    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel")
    rank: ClassVar[int] = 2
    filters: PositiveInt
    kernel: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = (1,)
    padding: Padding = "valid"
    dilation: tuple[PositiveInt, ...] = (1,)
    groups: PositiveInt = 1

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return widen_tuples(data, cls.rank, {"kernel": 0, "stride": 1, "dilation": 1})

    @model_validator(mode="after")
    def _check(self) -> _Conv:
        if max(self.stride) > 1 and max(self.dilation) > 1:
            raise ArgError("dilation", "dilation > 1 cannot be combined with stride > 1")
        return self


class Conv1D(_Conv):
    """1-D convolution over (steps, channels); kernel (k, in/groups, filters)."""

    kind: Literal["conv1d"] = "conv1d"
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    rank: ClassVar[int] = 1
    doc_shapes: ClassVar[tuple[str, str]] = ("(L, C)", "(L', filters)")
    doc_params: ClassVar[str] = "k·(C/groups)·filters + filters"


class Conv2D(_Conv):
    """2-D convolution over (height, width, channels); kernel HWIO."""

    kind: Literal["conv2d"] = "conv2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H', W', filters)")
    doc_params: ClassVar[str] = "kh·kw·(C/groups)·filters + filters"


class Conv2DTranspose(_Kernel):
    """Transposed 2-D convolution (the gradient of conv2d); kernel (kh, kw, filters, in).

    Output size: valid (n - 1)·s + max(k, s); same n·s (TF's rule: the full (n - 1)·s + k
    result cropped as a same conv of that size would pad, the odd cell at the end; when
    k < s the missing cells at the end are zeros plus the bias).
    """

    kind: Literal["conv2d_transpose"] = "conv2d_transpose"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel")
    rank: ClassVar[int] = 2
    doc_shapes: ClassVar[tuple[str, str]] = (
        "(H, W, C)",
        "(H·s or (H-1)·s+max(k,s), ..., filters)",
    )
    doc_params: ClassVar[str] = "kh·kw·C·filters + filters"
    filters: PositiveInt
    kernel: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = (1,)
    padding: Padding = "valid"

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return widen_tuples(data, cls.rank, {"kernel": 0, "stride": 1})


class DepthwiseConv2D(_Kernel):
    """One kh x kw filter per input channel and multiplier; kernel (kh, kw, C, multiplier).

    Output channel c·multiplier + m comes from input channel c.
    """

    kind: Literal["depthwise_conv2d"] = "depthwise_conv2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    positional: ClassVar[tuple[str, ...]] = ("kernel",)
    rank: ClassVar[int] = 2
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H', W', C·depth_multiplier)")
    doc_params: ClassVar[str] = "kh·kw·C·m + C·m"
    kernel: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = (1,)
    padding: Padding = "valid"
    depth_multiplier: PositiveInt = 1

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return widen_tuples(data, cls.rank, {"kernel": 0, "stride": 1})


class SeparableConv2D(_Kernel):
    """depthwise_conv2d (no bias) then a 1x1 conv to `filters` with the bias and activation.

    Weights: depthwise_kernel (kh, kw, C, m), pointwise_kernel (1, 1, C·m, filters), bias.
    """

    kind: Literal["separable_conv2d"] = "separable_conv2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel")
    rank: ClassVar[int] = 2
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H', W', filters)")
    doc_params: ClassVar[str] = "kh·kw·C·m + C·m·filters + filters"
    filters: PositiveInt
    kernel: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = (1,)
    padding: Padding = "valid"
    depth_multiplier: PositiveInt = 1

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return widen_tuples(data, cls.rank, {"kernel": 0, "stride": 1})


# --- pooling, padding, resizing ---


class _Pool(Op):
    """Shared fields of the windowed pools; stride defaults to the window size."""

    positional: ClassVar[tuple[str, ...]] = ("size", "stride")
    rank: ClassVar[int] = 2
    size: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = ()
    padding: Padding = "valid"

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return widen_tuples(data, cls.rank, {"size": 0, "stride": "size"})


class MaxPool1D(_Pool):
    """Max over windows; padding never wins (pads with -inf)."""

    kind: Literal["maxpool1d"] = "maxpool1d"
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    rank: ClassVar[int] = 1
    doc_shapes: ClassVar[tuple[str, str]] = ("(L, C)", "(L', C)")


class MaxPool2D(_Pool):
    """Max over windows; padding never wins (pads with -inf)."""

    kind: Literal["maxpool2d"] = "maxpool2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H', W', C)")


class AvgPool1D(_Pool):
    """Mean over windows; padded cells are excluded from the divisor."""

    kind: Literal["avgpool1d"] = "avgpool1d"
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    rank: ClassVar[int] = 1
    doc_shapes: ClassVar[tuple[str, str]] = ("(L, C)", "(L', C)")


class AvgPool2D(_Pool):
    """Mean over windows; padded cells are excluded from the divisor."""

    kind: Literal["avgpool2d"] = "avgpool2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H', W', C)")


class _GlobalPool(Op):
    rank: ClassVar[int] = 2
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(C,)")


class GlobalAvgPool1D(_GlobalPool):
    """Mean over steps: (L, C) -> (C,)."""

    kind: Literal["global_avgpool1d"] = "global_avgpool1d"
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    rank: ClassVar[int] = 1
    doc_shapes: ClassVar[tuple[str, str]] = ("(L, C)", "(C,)")


class GlobalMaxPool1D(_GlobalPool):
    """Max over steps: (L, C) -> (C,)."""

    kind: Literal["global_maxpool1d"] = "global_maxpool1d"
    ranks: ClassVar[tuple[int, ...] | None] = (2,)
    rank: ClassVar[int] = 1
    doc_shapes: ClassVar[tuple[str, str]] = ("(L, C)", "(C,)")


class GlobalAvgPool2D(_GlobalPool):
    """Mean over height and width: (H, W, C) -> (C,)."""

    kind: Literal["global_avgpool2d"] = "global_avgpool2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)


class GlobalMaxPool2D(_GlobalPool):
    """Max over height and width: (H, W, C) -> (C,)."""

    kind: Literal["global_maxpool2d"] = "global_maxpool2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)


class ZeroPadding2D(Op):
    """Zeros around an image: ((top, bottom), (left, right)); one number pads all four sides,
    two numbers (rows, columns) pad both ends of each axis."""

    kind: Literal["zero_padding2d"] = "zero_padding2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    positional: ClassVar[tuple[str, ...]] = ("padding",)
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H + t + b, W + l + r, C)")
    padding: tuple[tuple[NonNegativeInt, NonNegativeInt], tuple[NonNegativeInt, NonNegativeInt]]

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        if not isinstance(data, dict) or "padding" not in data:
            return data
        value = data["padding"]
        if isinstance(value, int) and not isinstance(value, bool):
            value = ((value, value), (value, value))
        elif (
            isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            value = ((value[0], value[0]), (value[1], value[1]))
        elif not (isinstance(value, tuple) and len(value) == 2):
            raise ArgError(
                "padding",
                "padding needs one number, (rows, columns) or ((top, bottom), (left, right))",
            )
        return {**data, "padding": value}


class UpSampling2D(Op):
    """Nearest-neighbour upsampling: every pixel repeated size_h x size_w times."""

    kind: Literal["upsampling2d"] = "upsampling2d"
    ranks: ClassVar[tuple[int, ...] | None] = (3,)
    positional: ClassVar[tuple[str, ...]] = ("size",)
    rank: ClassVar[int] = 2
    doc_shapes: ClassVar[tuple[str, str]] = ("(H, W, C)", "(H·sh, W·sw, C)")
    size: tuple[PositiveInt, ...] = (2, 2)
    interpolation: Literal["nearest"] = "nearest"

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return widen_tuples(data, cls.rank, {"size": 2})


# --- reshaping, regularisation, normalisation, lookup ---


class Flatten(Op):
    """Flatten in canonical channels-last (H, W, C) order."""

    kind: Literal["flatten"] = "flatten"
    doc_shapes: ClassVar[tuple[str, str]] = ("(d1, ..., dk)", "(d1·...·dk,)")


class Reshape(Op):
    """Reshape the non-batch axes (channels-last); one entry may be -1."""

    kind: Literal["reshape"] = "reshape"
    positional: ClassVar[tuple[str, ...]] = ("shape",)
    doc_shapes: ClassVar[tuple[str, str]] = (
        "(d1, ..., dk)",
        "shape, one -1 inferred; sizes must match",
    )
    shape: Annotated[tuple[int, ...], Field(min_length=1)]


class Dropout(Op):
    """Zero a `rate` fraction of inputs in training, scale the rest by 1/(1-rate)."""

    kind: Literal["dropout"] = "dropout"
    positional: ClassVar[tuple[str, ...]] = ("rate",)
    rate: Probability


class BatchNorm(Op):
    """Batch normalisation over the channels axis (-1).

    moving = momentum * moving + (1 - momentum) * batch_statistic (Keras' convention: 0.99
    moves slowly); the moving variance uses the biased batch variance.
    """

    kind: Literal["batchnorm"] = "batchnorm"
    positional: ClassVar[tuple[str, ...]] = ("momentum", "epsilon")
    doc_shapes: ClassVar[tuple[str, str]] = ("(..., C)", "unchanged")
    doc_params: ClassVar[str] = (
        "2C trainable (gamma, beta) + 2C non-trainable (moving mean, variance)"
    )
    momentum: Probability = 0.99
    epsilon: PositiveFloat = 1e-3
    center: bool = True
    scale: bool = True


class LayerNorm(Op):
    """Normalise each sample over its last axis: (x - mean) / sqrt(biased var + epsilon),
    then gamma * x + beta (Keras' epsilon 1e-3; torch's default would be 1e-5)."""

    kind: Literal["layernorm"] = "layernorm"
    positional: ClassVar[tuple[str, ...]] = ("epsilon",)
    doc_shapes: ClassVar[tuple[str, str]] = ("(..., C)", "unchanged")
    doc_params: ClassVar[str] = "2C (gamma, beta)"
    epsilon: PositiveFloat = 1e-3
    center: bool = True
    scale: bool = True


class Embedding(Op):
    """Lookup table (input_dim, output_dim) for integer tokens."""

    kind: Literal["embedding"] = "embedding"
    ranks: ClassVar[tuple[int, ...] | None] = (1,)
    positional: ClassVar[tuple[str, ...]] = ("input_dim", "output_dim")
    doc_shapes: ClassVar[tuple[str, str]] = ("(L,) tokens", "(L, output_dim)")
    doc_params: ClassVar[str] = "input_dim·output_dim"
    input_dim: PositiveInt
    output_dim: PositiveInt
