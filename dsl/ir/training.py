"""Inputs, datasets, losses and optimizers: the train section's vocabulary."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from nndsl.ir.base import (
    Node,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Probability,
    catalogue,
    union_of,
)

# --- inputs ---


class InputType(Node):
    """The type of one model input; `shape` has no batch axis."""

    category: ClassVar[str] = "input"
    dtype: ClassVar[str] = "float32"


class Image(InputType):
    """A channels-last image (height, width, channels) of float32."""

    kind: Literal["image"] = "image"
    positional: ClassVar[tuple[str, ...]] = ("height", "width", "channels")
    height: PositiveInt
    width: PositiveInt
    channels: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.height, self.width, self.channels)


class Vector(InputType):
    """A feature vector of float32."""

    kind: Literal["vector"] = "vector"
    positional: ClassVar[tuple[str, ...]] = ("features",)
    features: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.features,)


class Sequence(InputType):
    """A channels-last sequence (steps, channels) of float32."""

    kind: Literal["sequence"] = "sequence"
    positional: ClassVar[tuple[str, ...]] = ("steps", "channels")
    steps: PositiveInt
    channels: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.steps, self.channels)


class Tokens(InputType):
    """A sequence of integer token ids, fed to an embedding."""

    kind: Literal["tokens"] = "tokens"
    dtype: ClassVar[str] = "int64"
    positional: ClassVar[tuple[str, ...]] = ("length",)
    length: PositiveInt

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.length,)


# --- datasets ---


class _Dataset(Node):
    category: ClassVar[str] = "dataset"
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


# --- losses ---


class _Loss(Node):
    """A loss averaged over the batch (reduction is always the mean)."""

    category: ClassVar[str] = "loss"

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


# --- optimizers (formulas in docs/semantics.md; defaults are Keras 3's) ---


class _Optimizer(Node):
    category: ClassVar[str] = "optimizer"


class Sgd(_Optimizer):
    """v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g)."""

    kind: Literal["sgd"] = "sgd"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.01
    momentum: Probability = 0.0
    nesterov: bool = False


class Adam(_Optimizer):
    """Keras' Adam: lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); w -= lr_t * m / (sqrt(v) + eps).

    This is the paper's "epsilon hat" form; torch adds epsilon to sqrt(v_hat) instead.
    """

    kind: Literal["adam"] = "adam"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    beta_1: Probability = 0.9
    beta_2: Probability = 0.999
    epsilon: PositiveFloat = 1e-7


class AdamW(_Optimizer):
    """Adam (Keras' form) plus decoupled weight decay: first w -= lr * weight_decay * w."""

    kind: Literal["adamw"] = "adamw"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    beta_1: Probability = 0.9
    beta_2: Probability = 0.999
    epsilon: PositiveFloat = 1e-7
    weight_decay: NonNegativeFloat = 0.004


class RmsProp(_Optimizer):
    """s = rho * s + (1 - rho) * g^2; w -= lr * g / sqrt(s + epsilon) (epsilon inside)."""

    kind: Literal["rmsprop"] = "rmsprop"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    rho: Probability = 0.9
    momentum: Probability = 0.0
    epsilon: PositiveFloat = 1e-7
    centered: bool = False


class Adadelta(_Optimizer):
    """Zeiler's Adadelta with an explicit learning rate multiplying the update."""

    kind: Literal["adadelta"] = "adadelta"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 1.0
    rho: Probability = 0.95
    epsilon: PositiveFloat = 1e-7


class Adagrad(_Optimizer):
    """a += g^2; w -= lr * g / sqrt(a + epsilon) (Keras' form), a from initial_accumulator_value."""

    kind: Literal["adagrad"] = "adagrad"
    positional: ClassVar[tuple[str, ...]] = ("learning_rate",)
    learning_rate: PositiveFloat = 0.001
    initial_accumulator_value: NonNegativeFloat = 0.1
    epsilon: PositiveFloat = 1e-7


METRICS = ("accuracy",)
DATASETS = catalogue("dataset")
LOSSES = catalogue("loss")
OPTIMIZERS = catalogue("optimizer")
Dataset = union_of(DATASETS.values())
Loss = union_of(LOSSES.values())
Optimizer = union_of(OPTIMIZERS.values())


class Train(Node):
    """How to train: data, loss, optimizer, epochs, metrics and seed."""

    dataset: Dataset
    loss: Loss
    optimizer: Optimizer
    epochs: PositiveInt = 1
    metrics: tuple[Literal["accuracy"], ...] = ("accuracy",)
    seed: Annotated[int, Field(ge=0, lt=2**31)] = 42
