"""Small specs exercising every layer kind (and the variants where its semantics branch),
with random canonical weights and inputs: shared by the reference and contract tests."""

from __future__ import annotations

import numpy as np

import nndsl
from nndsl import ir

# --- the cases: (id, model body); every kind appears, with the variants where semantics branch

ACTIVATION_CASES = [
    (kind, kind)
    for kind in ("linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "selu", "silu")
] + [
    ("leaky_relu-default", "leaky_relu()"),
    ("leaky_relu-0.2", "leaky_relu(0.2)"),
    ("elu-default", "elu()"),
    ("elu-alpha0.5", "elu(0.5)"),
    ("gelu-exact", "gelu()"),
    ("gelu-approximate", "gelu(approximate=true)"),
]


def _activation_body(call: str) -> str:
    """The activation as a layer, then fused into a dense (not last, so it stays in the net)."""
    call = call if "(" in call else f"{call}()"
    return f"input sequence(3, 5)\n{call}\ndense(4, activation={call})\nflatten()"


IMAGE = "input image(7, 6, 3)"
EVEN = "input image(8, 8, 2)"
SEQ = "input sequence(7, 3)"

CASES = [(f"act-{name}", _activation_body(call)) for name, call in ACTIVATION_CASES] + [
    ("dense", "input vector(6)\ndense(4, activation=tanh)\ndense(3)"),
    ("dense-no_bias", "input vector(6)\ndense(4, use_bias=false)"),
    ("dense-on_sequence", f"{SEQ}\ndense(4)"),
    ("conv1d-valid", f"{SEQ}\nconv1d(4, 3)"),
    ("conv1d-same-k4-s2", f"{SEQ}\nconv1d(4, 4, stride=2, padding=same)"),
    ("conv1d-same-dilation2", f"{SEQ}\nconv1d(2, 3, padding=same, dilation=2)"),
    ("conv1d-groups3-no_bias", f"{SEQ}\nconv1d(6, 2, groups=3, use_bias=false)"),
    ("conv2d-valid", f"{IMAGE}\nconv2d(4, 3, activation=relu6)"),
    ("conv2d-valid-s2", f"{IMAGE}\nconv2d(4, 3, stride=2)"),
    ("conv2d-same-k2-s2", f"{IMAGE}\nconv2d(4, 2, stride=2, padding=same)"),
    ("conv2d-same-k4-s2", f"{IMAGE}\nconv2d(4, 4, stride=2, padding=same)"),
    ("conv2d-same-k4-s1", f"{EVEN}\nconv2d(3, 4, padding=same)"),
    ("conv2d-same-k3x2-s2x1", f"{IMAGE}\nconv2d(3, (3, 2), stride=(2, 1), padding=same)"),
    ("conv2d-dilation2", f"{EVEN}\nconv2d(3, 3, dilation=2)"),
    ("conv2d-same-dilation2", f"{IMAGE}\nconv2d(3, 2, dilation=(2, 1), padding=same)"),
    ("conv2d-same-k5-input3x3", "input image(3, 3, 2)\nconv2d(2, 5, padding=same)"),
    ("conv2d-groups3-no_bias", f"{IMAGE}\nconv2d(6, 3, groups=3, use_bias=false)"),
    ("depthwise-valid", f"{IMAGE}\ndepthwise_conv2d(3)"),
    (
        "depthwise-same-k2-s2-m2",
        f"{IMAGE}\ndepthwise_conv2d(2, stride=2, padding=same, depth_multiplier=2)",
    ),
    (
        "depthwise-same-k4-s2x1-no_bias",
        f"{EVEN}\ndepthwise_conv2d(4, stride=(2, 1), padding=same, use_bias=false)",
    ),
    ("separable-valid", f"{IMAGE}\nseparable_conv2d(4, 3, activation=elu)"),
    (
        "separable-same-k4-s2-m2",
        f"{IMAGE}\nseparable_conv2d(4, 4, stride=2, padding=same, depth_multiplier=2)",
    ),
    ("separable-same-no_bias", f"{EVEN}\nseparable_conv2d(2, 2, padding=same, use_bias=false)"),
    ("maxpool1d-valid", f"{SEQ}\nmaxpool1d(2)"),
    ("maxpool1d-same-k3-s2", f"{SEQ}\nmaxpool1d(3, 2, padding=same)"),
    ("maxpool1d-same-k2-s1", f"{SEQ}\nmaxpool1d(2, 1, padding=same)"),
    ("maxpool2d-valid", f"{IMAGE}\nmaxpool2d(2)"),
    ("maxpool2d-same-k3-s2", f"{IMAGE}\nmaxpool2d(3, 2, padding=same)"),
    ("maxpool2d-same-k2-s1", f"{EVEN}\nmaxpool2d(2, 1, padding=same)"),
    ("maxpool2d-same-k2x3", f"{IMAGE}\nmaxpool2d((2, 3), padding=same)"),
    ("avgpool1d-valid", f"{SEQ}\navgpool1d(2)"),
    ("avgpool1d-same-k3-s2", f"{SEQ}\navgpool1d(3, 2, padding=same)"),
    ("avgpool1d-same-k4-s1", f"{SEQ}\navgpool1d(4, 1, padding=same)"),
    ("avgpool2d-valid-s1", f"{IMAGE}\navgpool2d(3, 1)"),
    ("avgpool2d-same-k3-s2", f"{IMAGE}\navgpool2d(3, 2, padding=same)"),
    ("avgpool2d-same-k2-s1", f"{EVEN}\navgpool2d(2, 1, padding=same)"),
    ("avgpool2d-same-k2x3", f"{IMAGE}\navgpool2d((2, 3), padding=same)"),
    ("maxpool2d-same-k3-input2x2", "input image(2, 2, 3)\nmaxpool2d(3, padding=same)"),
    ("avgpool2d-same-k2-s3", f"{IMAGE}\navgpool2d(2, 3, padding=same)"),
    ("avgpool2d-same-k3-input2x2", "input image(2, 2, 3)\navgpool2d(3, padding=same)"),
    ("global_avgpool1d", f"{SEQ}\nglobal_avgpool1d()"),
    ("global_maxpool1d", f"{SEQ}\nglobal_maxpool1d()"),
    ("global_avgpool2d", f"{IMAGE}\nglobal_avgpool2d()"),
    ("global_maxpool2d", f"{IMAGE}\nglobal_maxpool2d()"),
    ("zero_padding2d-1", f"{IMAGE}\nzero_padding2d(1)"),
    ("zero_padding2d-rows_cols", f"{IMAGE}\nzero_padding2d((1, 2))"),
    ("zero_padding2d-sides", f"{IMAGE}\nzero_padding2d(((0, 1), (2, 3)))\nconv2d(2, 3)"),
    ("upsampling2d", f"{IMAGE}\nupsampling2d()"),
    ("upsampling2d-2x3", f"{IMAGE}\nupsampling2d((2, 3))\nconv2d(2, 2, stride=2)"),
    ("flatten", f"{IMAGE}\nconv2d(2, 3)\nflatten()\ndense(3)"),
    ("softmax-after-conv", f"{IMAGE}\nconv2d(4, 3)\nsoftmax()\nflatten()\ndense(3)"),
    ("reshape", f"{IMAGE}\nreshape((6, -1))\nconv1d(2, 3)"),
    ("reshape-rank3", f"{SEQ}\nreshape((3, 7, 1))\nconv2d(2, 2)"),
    ("dropout", f"{IMAGE}\ndropout(0.5)\nconv2d(2, 3)"),
    ("batchnorm", f"{IMAGE}\nbatchnorm()"),
    ("batchnorm-eps-no_center_scale", f"{SEQ}\nbatchnorm(0.9, 0.01, center=false, scale=false)"),
    ("batchnorm-no_center", "input vector(5)\nbatchnorm(center=false)"),
    ("layernorm", f"{SEQ}\nlayernorm()"),
    ("layernorm-image-eps", f"{IMAGE}\nlayernorm(1e-5)"),
    ("layernorm-no_scale", "input vector(5)\nlayernorm(scale=false)"),
    ("layernorm-no_center", "input vector(5)\nlayernorm(center=false)"),
    ("embedding", "input tokens(7)\nembedding(20, 4)\nflatten()\ndense(3)"),
    ("embedding-lstm", "input tokens(5)\nembedding(9, 3)\nlstm(4)"),
    ("simple_rnn-tanh", f"{SEQ}\nsimple_rnn(4)"),
    ("simple_rnn-relu-seq", f"{SEQ}\nsimple_rnn(4, activation=relu, return_sequences=true)"),
    ("simple_rnn-no_bias", f"{SEQ}\nsimple_rnn(4, use_bias=false)"),
    ("lstm", f"{SEQ}\nlstm(4)"),
    ("lstm-seq", f"{SEQ}\nlstm(4, return_sequences=true)"),
    ("lstm-no_bias", f"{SEQ}\nlstm(3, use_bias=false)"),
    ("gru", f"{SEQ}\ngru(4)"),
    ("gru-seq", f"{SEQ}\ngru(4, return_sequences=true)"),
    ("gru-no_bias", f"{SEQ}\ngru(3, use_bias=false)"),
    (
        "bidirectional-lstm-seq-concat",
        f"{SEQ}\nbidirectional(lstm(4, return_sequences=true), merge=concat)",
    ),
    ("bidirectional-lstm-ave", f"{SEQ}\nbidirectional(lstm(3), merge=ave)"),
    (
        "bidirectional-gru-seq-sum",
        f"{SEQ}\nbidirectional(gru(3, return_sequences=true), merge=sum)",
    ),
    ("bidirectional-gru-concat", f"{SEQ}\nbidirectional(gru(3))"),
    (
        "bidirectional-simple_rnn-seq-mul",
        f"{SEQ}\nbidirectional(simple_rnn(3, return_sequences=true), merge=mul)",
    ),
    (
        "bidirectional-simple_rnn-relu-sum",
        f"{SEQ}\nbidirectional(simple_rnn(3, activation=relu), merge=sum)",
    ),
    (
        "bidirectional-then-gru",
        f"{SEQ}\nbidirectional(lstm(4, return_sequences=true))\ngru(5)\ndense(2)",
    ),
]

_TWO = "input a = vector(4)\ninput b = vector(4)\n"
_THREE = "input a = vector(4)\ninput b = vector(4)\ninput c = vector(4)\n"
CASES += [
    ("add-3", f"{_THREE}add(a, b, c)"),
    ("subtract", f"{_TWO}subtract(a, b)"),
    ("subtract-reversed", f"{_TWO}subtract(b, a)"),
    ("multiply-3", f"{_THREE}multiply(a, b, c)"),
    ("average-3", f"{_THREE}average(a, b, c)"),
    ("maximum-2", f"{_TWO}maximum(a, b)"),
    ("concatenate-vectors", f"{_TWO}concatenate(a, b)"),
    (
        "concatenate-axis-1-sequence",
        "input a = sequence(3, 2)\ninput b = sequence(3, 4)\nconcatenate(a, b, axis=-1)",
    ),
    (
        "concatenate-axis1-sequence",
        "input a = sequence(3, 2)\ninput b = sequence(5, 2)\nconcatenate(a, b, axis=1)",
    ),
    (
        "concatenate-axis2-image",
        "input a = image(3, 2, 2)\ninput b = image(3, 4, 2)\nconcatenate(b, a, axis=2)",
    ),
    ("graph-two_outputs", f"{_TWO}x = add(a, b)\ny = subtract(a, b) -> dense(3)\noutput x, y"),
    (
        "graph-branches",
        "input image(8, 8, 3)\nconv2d(4, 3, stride=2, padding=same)\nx = relu()\n"
        "y = input -> depthwise_conv2d(3, stride=2, padding=same, depth_multiplier=2)\n"
        "concatenate(x, y, axis=-1)\nflatten()\ndense(5)",
    ),
]

# conv2d_transpose: kernel larger than, smaller than and equal to the stride, both paddings
TRANSPOSE = "input image(3, 4, 2)\nconv2d_transpose"
CASES += [
    (
        f"conv2d_transpose-{padding}-k{k}-s{s}",
        f"{TRANSPOSE}(3, {k}, stride={s}, padding={padding})",
    )
    for padding in ("valid", "same")
    for k, s in ((3, 2), (4, 2), (2, 3), (1, 2), (2, 2), (3, 1))
] + [
    (
        "conv2d_transpose-same-k3x2-s2x3-no_bias",
        f"{TRANSPOSE}(3, (3, 2), stride=(2, 3), padding=same, use_bias=false)",
    ),
    (
        "conv2d_transpose-valid-k2x4-s3x1-relu",
        f"{TRANSPOSE}(2, (2, 4), stride=(3, 1), activation=relu)",
    ),
]


def load(body: str) -> ir.Program:
    return nndsl.loads("model m {\n" + body + "\n}\n", "x.nn")


# --- random canonical weights and inputs ---


def random_weights(program: ir.Program, seed: int = 0) -> dict[str, np.ndarray]:
    """Kernels of unit-variance outputs, biases and betas ~0.5, gamma and variances 0.5..1.5."""
    rng = np.random.default_rng(seed)
    out = {}
    for weight in program.weights:
        param = weight.param.removeprefix("forward_").removeprefix("backward_")
        shape = weight.shape
        if param in ("moving_variance", "gamma"):
            value = rng.uniform(0.5, 1.5, shape)
        elif param in ("bias", "beta", "moving_mean", "embeddings"):
            value = rng.normal(0.0, 0.5, shape)
        else:
            value = rng.normal(0.0, 1.0 / np.sqrt(weight.fans[0]), shape)
        out[weight.name] = value.astype(np.float32)
    return out


def random_inputs(program: ir.Program, batch: int = 3, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for info in program.inputs:
        if info.dtype == "int64":
            vocab = next(n.op.input_dim for n in program.nodes if info.name in n.inputs)
            out[info.name] = rng.integers(0, vocab, (batch, *info.shape))
        else:
            out[info.name] = rng.normal(0.0, 1.0, (batch, *info.shape)).astype(np.float32)
    return out
