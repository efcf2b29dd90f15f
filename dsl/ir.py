"""The typed IR: one frozen Pydantic class per concept of the language.

A class's `kind` is the name written in a spec, the key of its catalogue and the name of
the macro that renders it in every target. Every default that changes the math is a field
default here, so it is written into the IR and never left to a framework.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nndsl.errors import Span

PositiveInt = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
Padding = Literal["valid", "same"]
Initializer = Literal[
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "ones"
]


class ArgError(ValueError):
    """A validation error that belongs to one argument: the parser points its caret there.

    `message` reads after the call's name, e.g. `conv2d` + `kernel needs 2 values, got 3`.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Node(BaseModel):
    """Base of every IR node: frozen, no unknown fields, a source span."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    positional: ClassVar[tuple[str, ...]] = ()
    span: Span | None = None


# --- activations: usable as layers and as the `activation=` argument of dense/conv ---


class Linear(Node):
    """Identity."""

    kind: Literal["linear"] = "linear"


class Relu(Node):
    """max(x, 0)."""

    kind: Literal["relu"] = "relu"


class Sigmoid(Node):
    """1 / (1 + exp(-x))."""

    kind: Literal["sigmoid"] = "sigmoid"


class Tanh(Node):
    """Hyperbolic tangent."""

    kind: Literal["tanh"] = "tanh"


class Softmax(Node):
    """Softmax over the channels axis (-1 in the canonical channels-last layout)."""

    kind: Literal["softmax"] = "softmax"
    positional: ClassVar[tuple[str, ...]] = ("axis",)
    axis: Literal[-1] = -1


class LeakyRelu(Node):
    """x if x > 0 else negative_slope * x (Keras' layer default 0.3, always emitted)."""

    kind: Literal["leaky_relu"] = "leaky_relu"
    positional: ClassVar[tuple[str, ...]] = ("negative_slope",)
    negative_slope: NonNegativeFloat = 0.3


class Elu(Node):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    kind: Literal["elu"] = "elu"
    positional: ClassVar[tuple[str, ...]] = ("alpha",)
    alpha: PositiveFloat = 1.0


class Selu(Node):
    """Scaled ELU with the fixed constants of Klambauer et al."""

    kind: Literal["selu"] = "selu"


class Gelu(Node):
    """GELU; exact (erf) unless approximate=true (tanh form)."""

    kind: Literal["gelu"] = "gelu"
    positional: ClassVar[tuple[str, ...]] = ("approximate",)
    approximate: bool = False


class Silu(Node):
    """x * sigmoid(x)."""

    kind: Literal["silu"] = "silu"


Activation = Annotated[
    Linear | Relu | Sigmoid | Tanh | Softmax | LeakyRelu | Elu | Selu | Gelu | Silu,
    Field(discriminator="kind"),
]
ACTIVATION_CLASSES: tuple[type[Node], ...] = (
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    LeakyRelu,
    Elu,
    Selu,
    Gelu,
    Silu,
)

# --- layers ---


class Dense(Node):
    """Fully connected layer acting on the last axis; kernel (in, out)."""

    kind: Literal["dense"] = "dense"
    positional: ClassVar[tuple[str, ...]] = ("units",)
    units: PositiveInt
    activation: Activation = Linear()
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"


class _Conv(Node):
    """Shared fields of conv1d/conv2d; kernels are stored spatial-dims, in, out."""

    positional: ClassVar[tuple[str, ...]] = ("filters", "kernel")
    rank: ClassVar[int] = 2
    filters: PositiveInt
    kernel: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = (1,)
    padding: Padding = "valid"
    dilation: tuple[PositiveInt, ...] = (1,)
    groups: PositiveInt = 1
    activation: Activation = Linear()
    use_bias: bool = True
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return _widen_tuples(data, cls.rank, {"kernel": 0, "stride": 1, "dilation": 1})

    @model_validator(mode="after")
    def _check(self) -> _Conv:
        if max(self.stride) > 1 and max(self.dilation) > 1:
            raise ArgError("dilation", "dilation > 1 cannot be combined with stride > 1")
        return self


class Conv1D(_Conv):
    """1-D convolution over (steps, channels)."""

    kind: Literal["conv1d"] = "conv1d"
    rank: ClassVar[int] = 1


class Conv2D(_Conv):
    """2-D convolution over (height, width, channels); kernel HWIO."""

    kind: Literal["conv2d"] = "conv2d"
    rank: ClassVar[int] = 2


class _Pool(Node):
    """Shared fields of the windowed pools; stride defaults to the window size."""

    positional: ClassVar[tuple[str, ...]] = ("size", "stride")
    rank: ClassVar[int] = 2
    size: tuple[PositiveInt, ...]
    stride: tuple[PositiveInt, ...] = ()
    padding: Padding = "valid"

    @model_validator(mode="before")
    @classmethod
    def _widen(cls, data: dict) -> dict:
        return _widen_tuples(data, cls.rank, {"size": 0, "stride": "size"})


class MaxPool1D(_Pool):
    """Max over windows; padding never wins (pads with -inf)."""

    kind: Literal["maxpool1d"] = "maxpool1d"
    rank: ClassVar[int] = 1


class MaxPool2D(_Pool):
    """Max over windows; padding never wins (pads with -inf)."""

    kind: Literal["maxpool2d"] = "maxpool2d"


class AvgPool1D(_Pool):
    """Mean over windows; padded cells are excluded from the divisor."""

    kind: Literal["avgpool1d"] = "avgpool1d"
    rank: ClassVar[int] = 1


class AvgPool2D(_Pool):
    """Mean over windows; padded cells are excluded from the divisor."""

    kind: Literal["avgpool2d"] = "avgpool2d"


class GlobalAvgPool2D(Node):
    """Mean over height and width: (H, W, C) -> (C,)."""

    kind: Literal["global_avgpool2d"] = "global_avgpool2d"


class GlobalMaxPool2D(Node):
    """Max over height and width: (H, W, C) -> (C,)."""

    kind: Literal["global_maxpool2d"] = "global_maxpool2d"


class Flatten(Node):
    """Flatten in canonical channels-last (H, W, C) order."""

    kind: Literal["flatten"] = "flatten"


class Reshape(Node):
    """Reshape the non-batch axes (channels-last); one entry may be -1."""

    kind: Literal["reshape"] = "reshape"
    positional: ClassVar[tuple[str, ...]] = ("shape",)
    shape: Annotated[tuple[int, ...], Field(min_length=1)]


class Dropout(Node):
    """Zero a `rate` fraction of inputs in training, scale the rest by 1/(1-rate)."""

    kind: Literal["dropout"] = "dropout"
    positional: ClassVar[tuple[str, ...]] = ("rate",)
    rate: Probability


class BatchNorm(Node):
    """Batch normalisation over the channels axis (-1).

    moving = momentum * moving + (1 - momentum) * batch_statistic (Keras convention);
    the running variance uses the biased batch variance.
    """

    kind: Literal["batchnorm"] = "batchnorm"
    positional: ClassVar[tuple[str, ...]] = ("momentum", "epsilon")
    momentum: Probability = 0.99
    epsilon: PositiveFloat = 1e-3
    center: bool = True
    scale: bool = True


class Embedding(Node):
    """Lookup table (input_dim, output_dim) for integer tokens."""

    kind: Literal["embedding"] = "embedding"
    positional: ClassVar[tuple[str, ...]] = ("input_dim", "output_dim")
    input_dim: PositiveInt
    output_dim: PositiveInt


Layer = Annotated[
    Dense
    | Conv1D
    | Conv2D
    | MaxPool1D
    | MaxPool2D
    | AvgPool1D
    | AvgPool2D
    | GlobalAvgPool2D
    | GlobalMaxPool2D
    | Flatten
    | Reshape
    | Dropout
    | BatchNorm
    | Embedding
    | Linear
    | Relu
    | Sigmoid
    | Tanh
    | Softmax
    | LeakyRelu
    | Elu
    | Selu
    | Gelu
    | Silu,
    Field(discriminator="kind"),
]
LAYER_CLASSES: tuple[type[Node], ...] = (
    Dense,
    Conv1D,
    Conv2D,
    MaxPool1D,
    MaxPool2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    Flatten,
    Reshape,
    Dropout,
    BatchNorm,
    Embedding,
    *ACTIVATION_CLASSES,
)

# --- inputs ---


class Image(Node):
    """A channels-last image (height, width, channels) of float32."""

    kind: Literal["image"] = "image"
    positional: ClassVar[tuple[str, ...]] = ("height", "width", "channels")
    height: PositiveInt
    width: PositiveInt
    channels: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.height, self.width, self.channels)


class Vector(Node):
    """A feature vector of float32."""

    kind: Literal["vector"] = "vector"
    positional: ClassVar[tuple[str, ...]] = ("features",)
    features: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.features,)


class Sequence(Node):
    """A channels-last sequence (steps, channels) of float32."""

    kind: Literal["sequence"] = "sequence"
    positional: ClassVar[tuple[str, ...]] = ("steps", "channels")
    steps: PositiveInt
    channels: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.steps, self.channels)


class Tokens(Node):
    """A sequence of integer token ids, fed to an embedding."""

    kind: Literal["tokens"] = "tokens"
    positional: ClassVar[tuple[str, ...]] = ("length",)
    length: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.length,)


Input = Annotated[Image | Vector | Sequence | Tokens, Field(discriminator="kind")]
INPUT_CLASSES: tuple[type[Node], ...] = (Image, Vector, Sequence, Tokens)

# --- datasets ---


class _Dataset(Node):
    batch_size: PositiveInt = 32
    validation_split: Probability = 0.0


class Mnist(_Dataset):
    """The original MNIST IDX files: 60,000 train and 10,000 test 28x28 digits, /255."""

    kind: Literal["mnist"] = "mnist"
    shape: ClassVar[tuple[int, ...]] = (28, 28, 1)
    classes: ClassVar[int] = 10


class Csv(_Dataset):
    """CSV files with a header row; `label` names the label column, the rest are features.

    Features are divided by `scale` (255 for pixel values).
    """

    kind: Literal["csv"] = "csv"
    positional: ClassVar[tuple[str, ...]] = ("train", "test")
    train: Annotated[str, Field(min_length=1)]
    test: Annotated[str, Field(min_length=1)]
    label: Annotated[str, Field(min_length=1)] = "label"
    scale: PositiveFloat = 1.0


class Npz(_Dataset):
    """A NumPy .npz archive holding x_train, y_train, x_test and y_test; x is divided by scale."""

    kind: Literal["npz"] = "npz"
    positional: ClassVar[tuple[str, ...]] = ("path",)
    path: Annotated[str, Field(min_length=1)]
    scale: PositiveFloat = 1.0


Dataset = Annotated[Mnist | Csv | Npz, Field(discriminator="kind")]
DATASET_CLASSES: tuple[type[Node], ...] = (Mnist, Csv, Npz)

# --- losses ---


class _Loss(Node):
    """A loss averaged over the batch (reduction is always the mean)."""

    reduction: Literal["mean"] = "mean"
    labels: ClassVar[Literal["one_hot", "sparse", "binary", "values"]] = "values"


class CategoricalCrossentropy(_Loss):
    """Cross-entropy against one-hot labels."""

    kind: Literal["categorical_crossentropy"] = "categorical_crossentropy"
    labels: ClassVar = "one_hot"


class SparseCategoricalCrossentropy(_Loss):
    """Cross-entropy against integer class labels."""

    kind: Literal["sparse_categorical_crossentropy"] = "sparse_categorical_crossentropy"
    labels: ClassVar = "sparse"


class BinaryCrossentropy(_Loss):
    """Cross-entropy of one sigmoid output against 0/1 labels."""

    kind: Literal["binary_crossentropy"] = "binary_crossentropy"
    labels: ClassVar = "binary"


class Mse(_Loss):
    """Mean squared error over all outputs (no 1/2 factor)."""

    kind: Literal["mse"] = "mse"
    labels: ClassVar = "one_hot"


class Mae(_Loss):
    """Mean absolute error over all outputs."""

    kind: Literal["mae"] = "mae"
    labels: ClassVar = "one_hot"


Loss = Annotated[
    CategoricalCrossentropy | SparseCategoricalCrossentropy | BinaryCrossentropy | Mse | Mae,
    Field(discriminator="kind"),
]
LOSS_CLASSES: tuple[type[Node], ...] = (
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    BinaryCrossentropy,
    Mse,
    Mae,
)

# --- optimizers (formulas in docs/semantics.md; defaults are Keras 3's) ---


class Sgd(Node):
    """v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g)."""

    kind: Literal["sgd"] = "sgd"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.01
    momentum: Probability = 0.0
    nesterov: bool = False


class Adam(Node):
    """Keras' Adam: lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); w -= lr_t * m / (sqrt(v) + eps).

    This is the paper's "epsilon hat" form; torch adds epsilon to sqrt(v_hat) instead.
    """

    kind: Literal["adam"] = "adam"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    beta_1: Probability = 0.9
    beta_2: Probability = 0.999
    epsilon: PositiveFloat = 1e-7


class AdamW(Node):
    """Adam (Keras' form) plus decoupled weight decay: first w -= lr * weight_decay * w."""

    kind: Literal["adamw"] = "adamw"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    beta_1: Probability = 0.9
    beta_2: Probability = 0.999
    epsilon: PositiveFloat = 1e-7
    weight_decay: NonNegativeFloat = 0.004


class RmsProp(Node):
    """s = rho * s + (1 - rho) * g^2; w -= lr * g / sqrt(s + epsilon) (epsilon inside)."""

    kind: Literal["rmsprop"] = "rmsprop"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    rho: Probability = 0.9
    momentum: Probability = 0.0
    epsilon: PositiveFloat = 1e-7
    centered: bool = False


class Adadelta(Node):
    """Zeiler's Adadelta with an explicit learning rate multiplying the update."""

    kind: Literal["adadelta"] = "adadelta"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 1.0
    rho: Probability = 0.95
    epsilon: PositiveFloat = 1e-7


class Adagrad(Node):
    """a += g^2; w -= lr * g / sqrt(a + epsilon) (Keras' form), a from initial_accumulator_value."""

    kind: Literal["adagrad"] = "adagrad"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    initial_accumulator_value: NonNegativeFloat = 0.1
    epsilon: PositiveFloat = 1e-7


Optimizer = Annotated[
    Sgd | Adam | AdamW | RmsProp | Adadelta | Adagrad, Field(discriminator="kind")
]
OPTIMIZER_CLASSES: tuple[type[Node], ...] = (Sgd, Adam, AdamW, RmsProp, Adadelta, Adagrad)

METRICS = ("accuracy",)

# --- the spec ---


class Model(Node):
    """The network: a name, an input and an ordered stack of layers."""

    name: str
    input: Input
    layers: tuple[Layer, ...]


class Train(Node):
    """How to train: data, loss, optimizer, epochs, metrics and seed."""

    dataset: Dataset
    loss: Loss
    optimizer: Optimizer
    epochs: PositiveInt = 1
    metrics: tuple[Literal["accuracy"], ...] = ("accuracy",)
    seed: Annotated[int, Field(ge=0, lt=2**31)] = 42


class Spec(Node):
    """A parsed spec file: one model and an optional train section."""

    model: Model
    train: Train | None = None


# --- the analysed program (output of dsl.infer) ---


# What the IR's initialisers mean (Keras' definitions): "uniform" (embedding tables) draws
# from U(-EMBEDDING_UNIFORM_LIMIT, EMBEDDING_UNIFORM_LIMIT); glorot_normal/he_normal draw from
# a normal truncated at 2 standard deviations, whose stddev is divided by
# TRUNCATED_NORMAL_STDDEV (the stddev of a unit normal truncated at +-2) to keep the variance.
EMBEDDING_UNIFORM_LIMIT = 0.05
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class Weight(BaseModel):
    """One parameter array in the canonical layout (channels-last, HWIO, (in, out))."""

    model_config = ConfigDict(frozen=True)

    name: str
    shape: tuple[int, ...]
    trainable: bool
    initializer: str

    @property
    def size(self) -> int:
        size = 1
        for dim in self.shape:
            size *= dim
        return size

    @property
    def fans(self) -> tuple[int, int]:
        """(fan_in, fan_out) as Keras counts them: a kernel's spatial size multiplies both."""
        if len(self.shape) == 1:
            return self.shape[0], self.shape[0]
        receptive = 1
        for dim in self.shape[:-2]:
            receptive *= dim
        return self.shape[-2] * receptive, self.shape[-1] * receptive


class LayerInfo(BaseModel):
    """A layer with its name, inferred shapes and canonical weights."""

    model_config = ConfigDict(frozen=True)

    name: str
    op: Layer
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weights: tuple[Weight, ...] = ()
    padding: tuple[tuple[int, int], ...] = ()

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        return sum(w.size for w in self.weights if not w.trainable)


class Program(BaseModel):
    """A spec after shape inference: what every target renders.

    `layers` compute logits; a final softmax/sigmoid of the spec is moved to
    `output_activation`, and `loss_from_logits` says whether the loss takes the logits
    directly (cross-entropies) or the activated outputs (mse, mae).
    """

    model_config = ConfigDict(frozen=True)

    source: str
    spec: Spec
    layers: tuple[LayerInfo, ...]
    output_activation: Literal["linear", "softmax", "sigmoid"]
    loss_from_logits: bool

    @property
    def name(self) -> str:
        return self.spec.model.name

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.spec.model.input.shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def weights(self) -> tuple[Weight, ...]:
        return tuple(w for layer in self.layers for w in layer.weights)

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable_params for layer in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(layer.non_trainable_params for layer in self.layers)


def catalogue(classes: tuple[type[Node], ...]) -> dict[str, type[Node]]:
    """Map each class's `kind` to the class."""
    return {cls.model_fields["kind"].default: cls for cls in classes}


LAYERS = catalogue(LAYER_CLASSES)
ACTIVATIONS = catalogue(ACTIVATION_CLASSES)
INPUTS = catalogue(INPUT_CLASSES)
DATASETS = catalogue(DATASET_CLASSES)
LOSSES = catalogue(LOSS_CLASSES)
OPTIMIZERS = catalogue(OPTIMIZER_CLASSES)


def _widen_tuples(data: object, rank: int, fields: dict[str, str | int]) -> object:
    """Turn `kernel=3` into `(3, 3)` for a rank-2 layer and fill tuple defaults.

    `fields` maps each tuple field to its default: an int repeated `rank` times, or the
    name of another field to copy (a pool's stride defaults to its size).
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for field, default in fields.items():
        value = out.get(field)
        if value is None:
            value = out.get(default) if isinstance(default, str) else default or None
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * rank
        if isinstance(value, (list, tuple)) and len(value) != rank:
            many = "1 value" if rank == 1 else f"one number or {rank} values"
            raise ArgError(field, f"{field} needs {many}, got {len(value)}")
        if value is not None:
            out[field] = value
    return out
