"""The language: every grammar construct, every layer's shape rule and parameter formula."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from nndsl import docs, ir, shapes
from nndsl.cli import main
from nndsl.errors import SpecError as DslError
from nndsl.infer import analyse
from nndsl.resolve import parse

ROOT = Path(__file__).resolve().parents[1]


def program(text: str) -> ir.Program:
    return analyse(parse(text, "t.nn"), source="t.nn")


def plain(data: object) -> object:
    """A node's data without source spans, for comparing what two texts mean."""
    if isinstance(data, BaseModel):
        data = data.model_dump()
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items() if k != "span"}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    return data


def model(input_call: str, *layers: str, train: str = "") -> str:
    body = "".join(f"    {layer}\n" for layer in layers)
    return f"model t {{\n    input {input_call}\n{body}}}\n{train}"


TRAIN = """
train {
    dataset mnist
    loss categorical_crossentropy
    optimizer adam
}
"""


# --- lexical rules and syntax ---


def test_comments_everywhere() -> None:
    text = """# leading comment
model t {  # after the brace
    # before the input
    input vector(784)  # trailing
    dense(
        10,  # inside a call
        activation=relu,  # after an argument
    )
    # before the closing brace
}
# between the blocks
train {  # after train
    dataset mnist  # trailing
    loss categorical_crossentropy
    optimizer adam
}
# at the end, with no newline"""
    spec = parse(text, "t.nn")
    assert plain(spec.model.nodes[0].op) == plain(ir.Dense(units=10, activation=ir.Relu()))
    assert spec.train is not None


def test_hash_inside_a_string_is_not_a_comment() -> None:
    text = model(
        "vector(784)",
        "dense(10)",
        train="""
train {
    dataset npz("data/#1.npz")
    loss mse
    optimizer sgd
}
""",
    )
    assert parse(text).train.dataset.path == "data/#1.npz"


def test_trailing_commas() -> None:
    text = model(
        "image(28, 28, 1,)",
        "conv2d(8, (3, 3,), stride=[1, 1,],)",
        "flatten()",
        "dense(10,)",
        train="train {\n dataset mnist\n loss mse\n optimizer adam\n metrics [accuracy,]\n}\n",
    )
    spec = parse(text)
    conv = spec.model.nodes[0].op
    assert conv.kernel == (3, 3) and conv.stride == (1, 1)
    assert spec.train.metrics == ("accuracy",)


def test_tuples_and_lists() -> None:
    spec = parse(model("image(28, 28, 1)", "conv2d(8, (3, 5), dilation=[2, 1])", "reshape((-1,))"))
    conv, reshape = [n.op for n in spec.model.nodes]
    assert conv.kernel == (3, 5) and conv.dilation == (2, 1)
    assert reshape.shape == (-1,)


def test_a_number_widens_to_every_axis() -> None:
    conv = parse(model("image(28, 28, 1)", "conv2d(8, 3, stride=2)")).model.nodes[0].op
    assert conv.kernel == (3, 3) and conv.stride == (2, 2) and conv.dilation == (1, 1)
    conv1 = parse(model("sequence(50, 2)", "conv1d(8, 3)")).model.nodes[0].op
    assert conv1.kernel == (3,) and conv1.stride == (1,)


def test_strings_with_escapes() -> None:
    text = model(
        "vector(784)",
        "dense(10)",
        train=r"""
train {
    dataset csv("a \"quoted\" name.csv", "back\\slash.csv", label="tab\there\nnewline")
    loss mse
    optimizer adam
}
""",
    )
    dataset = parse(text).train.dataset
    assert dataset.train == 'a "quoted" name.csv'
    assert dataset.test == "back\\slash.csv"
    assert dataset.label == "tab\there\nnewline"


def test_true_and_false() -> None:
    spec = parse(
        model(
            "vector(4)",
            "dense(2, use_bias=false)",
            "batchnorm(center=true, scale=false)",
            "gelu(true)",
        )
    )
    dense, norm, gelu = [n.op for n in spec.model.nodes]
    assert dense.use_bias is False and norm.center is True and norm.scale is False
    assert gelu.approximate is True


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("3", 3),
        ("-3", -3),
        ("+3", 3),
        ("0.5", 0.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e-3", 1e-3),
        ("2E+2", 200.0),
    ],
)
def test_numbers(written: str, value: float) -> None:
    text = model(
        "vector(4)",
        "dense(2)",
        train=f"train {{\n dataset mnist\n loss mse\n optimizer sgd(momentum=0.5, learning_rate={written})\n}}\n",
    )
    if value <= 0:
        with pytest.raises(DslError, match="learning_rate must be greater than 0, got -3"):
            parse(text)
    else:
        assert parse(text).train.optimizer.learning_rate == value


def test_nested_activation_calls() -> None:
    spec = parse(
        model(
            "vector(4)",
            "dense(8, activation=leaky_relu(0.1))",
            "dense(8, activation=elu(alpha=0.5))",
            "dense(8, activation=gelu(approximate=true))",
            "dense(8, activation=softmax(-1))",
            "dense(8, activation=relu())",
            "dense(8, activation=silu)",
        )
    )
    kinds = [layer.activation for layer in [n.op for n in spec.model.nodes]]
    assert kinds[0] == ir.LeakyRelu(negative_slope=0.1, span=kinds[0].span)
    assert kinds[1].alpha == 0.5 and kinds[2].approximate is True and kinds[3].axis == -1
    assert kinds[4].kind == "relu" and kinds[5].kind == "silu"


def test_keywords_are_whole_words() -> None:
    # `train` is also csv's argument name, and `input` a valid model name
    text = 'model input {\n input vector(784)\n dense(10)\n}\ntrain {\n dataset csv(train="a.csv", test="b.csv")\n loss mse\n optimizer adam\n}\n'
    spec = parse(text)
    assert spec.model.name == "input" and spec.train.dataset.train == "a.csv"
    with pytest.raises(DslError, match="unknown keyword 'modelx'"):
        parse("modelx {\n input vector(1)\n}\n")


def test_statements_need_no_newlines() -> None:
    spec = parse(
        "model t { input vector(4) dense(2) } train { dataset mnist loss mse optimizer adam }"
    )
    assert len([n.op for n in spec.model.nodes]) == 1 and spec.train.loss.kind == "mse"


def test_positional_and_keyword_arguments_agree() -> None:
    a = parse(model("image(28, 28, 1)", "conv2d(8, 3)", "maxpool2d(2, 1)")).model.nodes
    b = parse(
        model("image(28, 28, 1)", "conv2d(filters=8, kernel=3)", "maxpool2d(stride=1, size=2)")
    ).model.nodes
    a, b = [n.op for n in a], [n.op for n in b]
    assert [x.model_dump(exclude={"span"}) for x in a] == [
        x.model_dump(exclude={"span"}) for x in b
    ]


def test_spans_point_at_the_source() -> None:
    spec = parse(model("vector(784)", "dense(10)"), "t.nn")
    dense = spec.model.nodes[0].op
    assert (dense.span.line, dense.span.column, dense.span.end_column) == (3, 5, 14)


# --- the train section ---


def test_train_section_is_optional() -> None:
    result = program(model("vector(784)", "dense(10, activation=softmax)"))
    assert result.spec.train is None
    assert result.output_activation == "softmax" and result.loss_from_logits is False


def test_train_defaults() -> None:
    train = parse(model("vector(784)", "dense(10)", train=TRAIN)).train
    assert (train.epochs, train.metrics, train.seed) == (1, ("accuracy",), 42)
    assert train.dataset == ir.Mnist(span=train.dataset.span)
    assert (train.dataset.batch_size, train.dataset.validation_split) == (32, 0.0)
    assert train.loss.reduction == "mean"


def test_every_train_setting() -> None:
    text = model(
        "vector(784)",
        "dense(10)",
        train="""
train {
    dataset mnist(batch_size=64, validation_split=0.2)
    loss sparse_categorical_crossentropy
    optimizer sgd(0.05, momentum=0.9, nesterov=true)
    epochs 3
    metrics [accuracy]
    seed 7
}
""",
    )
    train = parse(text).train
    assert train.dataset.batch_size == 64 and train.dataset.validation_split == 0.2
    assert train.loss.kind == "sparse_categorical_crossentropy"
    assert (train.optimizer.learning_rate, train.optimizer.momentum, train.optimizer.nesterov) == (
        0.05,
        0.9,
        True,
    )
    assert (train.epochs, train.metrics, train.seed) == (3, ("accuracy",), 7)


@pytest.mark.parametrize(
    ("written", "kind", "fields"),
    [
        ("mnist", "mnist", {}),
        (
            'csv("tr.csv", "te.csv", label="y", scale=255.0)',
            "csv",
            {"train": "tr.csv", "label": "y", "scale": 255.0},
        ),
        ('npz("d.npz", scale=255.0, batch_size=16)', "npz", {"path": "d.npz", "batch_size": 16}),
    ],
)
def test_datasets(written: str, kind: str, fields: dict) -> None:
    dataset = parse(
        model(
            "vector(784)",
            "dense(10)",
            train=f"train {{\n dataset {written}\n loss mse\n optimizer adam\n}}\n",
        )
    ).train.dataset
    assert dataset.kind == kind
    for name, value in fields.items():
        assert getattr(dataset, name) == value


@pytest.mark.parametrize("loss", sorted(ir.LOSSES))
def test_losses(loss: str) -> None:
    units = 1 if loss == "binary_crossentropy" else 10
    text = model(
        "vector(784)",
        f"dense({units})",
        train=f'train {{\n dataset npz("d.npz")\n loss {loss}\n optimizer adam\n}}\n',
    )
    result = program(text)
    assert result.spec.train.loss.kind == loss
    assert result.loss_from_logits == (loss.endswith("crossentropy"))


@pytest.mark.parametrize("optimizer", sorted(ir.OPTIMIZERS))
def test_optimizers(optimizer: str) -> None:
    text = model(
        "vector(784)",
        "dense(10)",
        train=f"train {{\n dataset mnist\n loss mse\n optimizer {optimizer}(0.5)\n}}\n",
    )
    chosen = parse(text).train.optimizer
    assert chosen.kind == optimizer and chosen.learning_rate == 0.5


def test_optimizer_defaults_are_keras_defaults() -> None:
    assert ir.Adam().model_dump(exclude={"span", "kind"}) == {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
    }
    assert (
        ir.Sgd().learning_rate == 0.01
        and ir.RmsProp().rho == 0.9
        and ir.AdamW().weight_decay == 0.004
    )


# --- output activation: models compute logits ---


def test_final_softmax_moves_to_the_loss() -> None:
    result = program(model("vector(784)", "dense(10, activation=softmax)", train=TRAIN))
    assert result.output_activation == "softmax" and result.loss_from_logits
    assert result.nodes[-1].op.activation.kind == "linear"


def test_final_activation_layer_is_dropped() -> None:
    text = model(
        "vector(784)",
        "dense(1)",
        "sigmoid()",
        train=TRAIN.replace("categorical", "binary").replace("mnist", 'npz("d.npz")'),
    )
    result = program(text)
    assert [layer.op.kind for layer in result.nodes] == ["dense"]
    assert result.output_activation == "sigmoid" and result.loss_from_logits


def test_mse_takes_activated_outputs() -> None:
    result = program(
        model(
            "vector(784)",
            "dense(10, activation=softmax)",
            train=TRAIN.replace("categorical_crossentropy", "mse"),
        )
    )
    assert result.output_activation == "softmax" and not result.loss_from_logits


def test_inner_softmax_stays() -> None:
    result = program(model("vector(784)", "dense(10, activation=softmax)", "dense(10)"))
    assert result.output_activation == "linear"
    assert result.nodes[0].op.activation.kind == "softmax"


# --- shapes and parameters, layer by layer ---

# (input, layer, output shape, trainable, non-trainable)
LAYER_CASES = [
    ("vector(784)", "dense(10)", (10,), 784 * 10 + 10, 0),
    ("vector(784)", "dense(10, use_bias=false)", (10,), 7840, 0),
    ("sequence(20, 8)", "dense(4)", (20, 4), 8 * 4 + 4, 0),
    ("sequence(100, 4)", "conv1d(8, 5)", (96, 8), 5 * 4 * 8 + 8, 0),
    ("sequence(100, 4)", "conv1d(8, 4, stride=2, padding=same)", (50, 8), 4 * 4 * 8 + 8, 0),
    ("sequence(100, 4)", "conv1d(8, 3, dilation=4)", (92, 8), 3 * 4 * 8 + 8, 0),
    ("image(28, 28, 1)", "conv2d(32, 3)", (26, 26, 32), 3 * 3 * 1 * 32 + 32, 0),
    ("image(28, 28, 1)", "conv2d(32, 3, padding=same)", (28, 28, 32), 320, 0),
    ("image(28, 28, 1)", "conv2d(8, 3, stride=2)", (13, 13, 8), 80, 0),
    ("image(28, 28, 1)", "conv2d(8, 3, stride=2, padding=same)", (14, 14, 8), 80, 0),
    ("image(28, 28, 1)", "conv2d(8, (3, 5), stride=(1, 2))", (26, 12, 8), 3 * 5 * 8 + 8, 0),
    ("image(28, 28, 1)", "conv2d(8, 3, dilation=2)", (24, 24, 8), 80, 0),
    ("image(28, 28, 4)", "conv2d(8, 3, groups=2)", (26, 26, 8), 3 * 3 * 2 * 8 + 8, 0),
    ("image(28, 28, 4)", "conv2d(8, 3, groups=4, use_bias=false)", (26, 26, 8), 3 * 3 * 1 * 8, 0),
    ("sequence(10, 3)", "maxpool1d(2)", (5, 3), 0, 0),
    ("sequence(10, 3)", "maxpool1d(3, stride=1)", (8, 3), 0, 0),
    ("sequence(11, 3)", "avgpool1d(2)", (5, 3), 0, 0),
    ("sequence(11, 3)", "avgpool1d(2, padding=same)", (6, 3), 0, 0),
    ("image(28, 28, 3)", "maxpool2d(2)", (14, 14, 3), 0, 0),
    ("image(7, 7, 3)", "maxpool2d(2)", (3, 3, 3), 0, 0),
    ("image(7, 7, 3)", "maxpool2d(3, stride=2, padding=same)", (4, 4, 3), 0, 0),
    ("image(7, 7, 3)", "avgpool2d(2)", (3, 3, 3), 0, 0),
    ("image(5, 5, 3)", "avgpool2d(2, padding=same)", (3, 3, 3), 0, 0),
    ("image(8, 6, 3)", "avgpool2d((2, 3), stride=(2, 1))", (4, 4, 3), 0, 0),
    ("image(7, 7, 16)", "global_avgpool2d()", (16,), 0, 0),
    ("image(7, 7, 16)", "global_maxpool2d()", (16,), 0, 0),
    ("image(5, 5, 64)", "flatten()", (1600,), 0, 0),
    ("vector(784)", "reshape((28, 28, 1))", (28, 28, 1), 0, 0),
    ("vector(784)", "reshape((-1, 7, 4))", (28, 7, 4), 0, 0),
    ("image(28, 28, 1)", "reshape((-1,))", (784,), 0, 0),
    ("vector(784)", "dropout(0.5)", (784,), 0, 0),
    ("image(14, 14, 8)", "batchnorm()", (14, 14, 8), 2 * 8, 2 * 8),
    ("image(14, 14, 8)", "batchnorm(center=false)", (14, 14, 8), 8, 16),
    ("image(14, 14, 8)", "batchnorm(scale=false, center=false)", (14, 14, 8), 0, 16),
    ("tokens(100)", "embedding(1000, 16)", (100, 16), 1000 * 16, 0),
    *[("image(4, 4, 2)", f"{kind}()", (4, 4, 2), 0, 0) for kind in sorted(ir.ACTIVATIONS)],
    ("image(7, 7, 3)", "conv2d_transpose(4, 3, stride=2)", (15, 15, 4), 3 * 3 * 4 * 3 + 4, 0),
    ("image(7, 7, 3)", "conv2d_transpose(4, 3, stride=2, padding=same)", (14, 14, 4), 112, 0),
    ("image(3, 3, 2)", "conv2d_transpose(2, 2, stride=3)", (9, 9, 2), 2 * 2 * 2 * 2 + 2, 0),
    ("image(8, 8, 3)", "depthwise_conv2d(3, depth_multiplier=2)", (6, 6, 6), 3 * 3 * 3 * 2 + 6, 0),
    ("image(8, 8, 3)", "separable_conv2d(4, 3)", (6, 6, 4), 3 * 3 * 3 + 3 * 4 + 4, 0),
    ("sequence(10, 4)", "global_avgpool1d()", (4,), 0, 0),
    ("sequence(10, 4)", "global_maxpool1d()", (4,), 0, 0),
    ("image(5, 5, 2)", "zero_padding2d(((1, 2), (3, 4)))", (8, 12, 2), 0, 0),
    ("image(5, 5, 2)", "zero_padding2d(1)", (7, 7, 2), 0, 0),
    ("image(4, 5, 2)", "upsampling2d((2, 3))", (8, 15, 2), 0, 0),
    ("sequence(10, 6)", "layernorm()", (10, 6), 12, 0),
    ("sequence(10, 6)", "layernorm(center=false)", (10, 6), 6, 0),
    ("sequence(10, 3)", "simple_rnn(5)", (5,), 5 * (3 + 5 + 1), 0),
    ("sequence(10, 3)", "lstm(4, return_sequences=true)", (10, 4), 4 * 4 * (3 + 4 + 1), 0),
    ("sequence(10, 3)", "lstm(4, use_bias=false)", (4,), 4 * 4 * (3 + 4), 0),
    ("sequence(10, 3)", "gru(4)", (4,), 3 * 4 * (3 + 4 + 2), 0),
    ("sequence(10, 3)", "bidirectional(lstm(4))", (8,), 2 * 4 * 4 * (3 + 4 + 1), 0),
    (
        "sequence(10, 3)",
        "bidirectional(gru(4, return_sequences=true), merge=sum)",
        (10, 4),
        216,
        0,
    ),
    *[
        ("vector(4)", f"{kind}(input, input)", (4,), 0, 0)
        for kind in ("add", "subtract", "multiply", "average", "maximum")
    ],
    ("vector(4)", "concatenate(input, input)", (8,), 0, 0),
    ("image(2, 3, 4)", "concatenate(input, input, axis=1)", (4, 3, 4), 0, 0),
]


@pytest.mark.parametrize(
    ("input_call", "layer", "shape", "trainable", "frozen"),
    LAYER_CASES,
    ids=[c[1] for c in LAYER_CASES],
)
def test_layer_shape_and_parameters(
    input_call: str, layer: str, shape: tuple, trainable: int, frozen: int
) -> None:
    # a trailing dense keeps a final softmax/sigmoid layer from being moved out
    result = program(model(input_call, layer, "dense(1)"))
    info = result.nodes[0]
    assert info.output_shape == shape
    assert (info.trainable_params, info.non_trainable_params) == (trainable, frozen)


def test_every_layer_kind_has_a_case() -> None:
    covered = {re.match(r"\w+", case[1]).group() for case in LAYER_CASES}
    assert covered == set(ir.LAYERS)


def test_weight_names_and_layouts() -> None:
    result = program(
        model(
            "image(28, 28, 3)",
            "conv2d(8, (3, 5), groups=1)",
            "batchnorm()",
            "flatten()",
            "dense(10)",
        )
    )
    weights = {w.name: (w.shape, w.trainable) for w in result.weights}
    assert weights == {
        "conv2d_1.kernel": ((3, 5, 3, 8), True),
        "conv2d_1.bias": ((8,), True),
        "batchnorm_1.gamma": ((8,), True),
        "batchnorm_1.beta": ((8,), True),
        "batchnorm_1.moving_mean": ((8,), False),
        "batchnorm_1.moving_variance": ((8,), False),
        "dense_1.kernel": ((26 * 24 * 8, 10), True),
        "dense_1.bias": ((10,), True),
    }


# --- TF `same` padding, including the asymmetric cases ---


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "dilation", "before_after", "out"),
    [
        (28, 3, 1, 1, (1, 1), 28),
        (28, 3, 2, 1, (0, 1), 14),  # the odd cell goes after (bottom/right)
        (14, 4, 2, 1, (1, 1), 7),
        (28, 4, 1, 1, (1, 2), 28),  # even kernel: asymmetric even at stride 1
        (7, 3, 2, 1, (1, 1), 4),
        (5, 2, 2, 1, (0, 1), 3),
        (4, 2, 2, 1, (0, 0), 2),
        (28, 3, 1, 2, (2, 2), 28),
        (1, 5, 3, 1, (2, 2), 1),
    ],
)
def test_same_padding(
    length: int, kernel: int, stride: int, dilation: int, before_after: tuple, out: int
) -> None:
    assert shapes.same_padding(length, kernel, stride, dilation) == before_after
    assert shapes.output_length(length, kernel, stride, "same", dilation) == out
    before, after = before_after
    valid = shapes.output_length(length + before + after, kernel, stride, "valid", dilation)
    assert valid == out  # padding explicitly then `valid` gives the same length


def test_valid_output_length() -> None:
    assert shapes.output_length(28, 3, 1, "valid") == 26
    assert shapes.output_length(28, 3, 2, "valid") == 13
    assert shapes.output_length(28, 3, 1, "valid", dilation=2) == 24
    assert shapes.effective_kernel(3, 2) == 5


def test_layer_padding_recorded() -> None:
    result = program(
        model(
            "image(28, 28, 1)",
            "conv2d(8, 3, stride=2, padding=same)",
            "conv2d(16, 4, stride=2, padding=same)",
            "maxpool2d(3, stride=2, padding=same)",
            "conv2d(4, 3)",
        )
    )
    assert [layer.padding for layer in result.nodes] == [
        ((0, 1), (0, 1)),
        ((1, 1), (1, 1)),
        ((1, 1), (1, 1)),
        ((0, 0), (0, 0)),
    ]
    assert [layer.output_shape for layer in result.nodes] == [
        (14, 14, 8),
        (7, 7, 16),
        (4, 4, 16),
        (2, 2, 4),
    ]


def test_pool_stride_defaults_to_size() -> None:
    pool = parse(model("image(8, 8, 1)", "maxpool2d((2, 4))")).model.nodes[0].op
    assert pool.stride == (2, 4)


# --- the published models, through `nndsl summary` ---


@pytest.mark.parametrize(
    ("spec", "total"),
    [("cnn", 34_826), ("mlp", 159_010), ("mlp_nobias", 158_800), ("lenet5", 61_706)],
)
def test_published_totals(
    spec: str, total: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["summary", f"specs/{spec}.nn"]) == 0
    out = capsys.readouterr().out
    assert f"Total params: {total:,}" in out
    assert f"Trainable params: {total:,}" in out
    assert "Non-trainable params: 0" in out


def test_summary_columns_never_run_together(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    main(["summary", "specs/stride.nn"])
    out = capsys.readouterr().out
    assert "Non-trainable params: 16" in out
    row = next(line for line in out.splitlines() if line.startswith("global_avgpool2d_1"))
    assert "(global_avgpool2d)  (None, 16)" in row


def test_summary_imports_no_framework() -> None:
    code = (
        "import sys; from nndsl.cli import main; main(['summary', 'specs/cnn.nn']);"
        " loaded = {'torch', 'tensorflow', 'keras', 'mxnet', 'jax'} & set(sys.modules);"
        " assert not loaded, loaded"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Total params: 34,826" in done.stdout


def test_ir_prints_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["ir", "specs/cnn.nn"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["model"]["name"] == "cnn"
    assert [layer["output_shape"] for layer in data["nodes"]][-1] == [10]
    assert data["outputs"][0]["activation"] == "softmax" and data["loss_from_logits"] is True
    total = sum(math.prod(w["shape"]) for layer in data["nodes"] for w in layer["weights"])
    assert total == 34_826


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Spec" and schema["type"] == "object"
    assert {"model", "train"} <= set(schema["properties"])
    assert {"Dense", "Conv2D", "Adam", "Mnist"} <= set(schema["$defs"])


# --- docs/language.md stays complete and current ---

DOC = ROOT / "docs" / "language.md"


@pytest.mark.parametrize(
    "catalogue", ["LAYERS", "ACTIVATIONS", "INPUTS", "DATASETS", "LOSSES", "OPTIMIZERS"]
)
def test_doc_lists_every_kind(catalogue: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [kind for kind in getattr(ir, catalogue) if f"`{kind}" not in text]
    assert not missing, f"docs/language.md does not document {missing}"


def test_doc_tables_are_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert docs.refresh(text) == text, "run: python -m nndsl.docs --write docs/language.md"


def test_doc_shows_the_grammar() -> None:
    text = DOC.read_text(encoding="utf-8")
    grammar = (ROOT / "dsl" / "grammar.lark").read_text(encoding="utf-8")
    rules = [
        line for line in grammar.splitlines() if line.strip() and not line.startswith(("//", "%"))
    ]
    assert [rule for rule in rules if rule not in text] == []


def test_doc_error_examples_are_real() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- error-examples -->")[1].split("<!-- end error-examples -->")[0]
    examples = [line for line in block.splitlines() if line and not line.startswith("```")]
    snapshots = ROOT / "tests" / "specs" / "errors"
    messages = {
        path.read_text(encoding="utf-8").split(": error: ", 1)[1].split("\n")[0]
        for path in snapshots.glob("*.expected")
    }
    assert len(examples) >= 20
    assert [e for e in examples if e not in messages] == []
