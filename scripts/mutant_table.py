"""The mutants of scripts/mutants.py: one per pinned semantic per target that pins it.

Each mutant names the semantic it breaks (the `[m:...]` marker of a docs/semantics.md row),
replaces one exact snippet of one file with what a framework's default (or a plausible slip)
would give, and names the tests that must then fail: pytest node ids, the fastest ones that
catch it. FAST is the CI subset: at least one mutant per semantic family.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str  # "<where>/<semantic>": the semantic is a docs/semantics.md `[m:...]` marker
    file: str
    old: str
    new: str
    tests: tuple[str, ...]

    @property
    def semantic(self) -> str:
        return self.id.split("/", 1)[1]


def contract(target: str, *cases: str) -> tuple[str, ...]:
    """tests/test_contract.py for `target` on the named cases of tests/cases.py."""
    return tuple(f"tests/test_contract.py::test_layer_contract[{target}-{c}]" for c in cases)


def optimizer(target: str, spec: str) -> tuple[str, ...]:
    """tests/test_semantics.py's optimizer formula check for one target and optimizer."""
    return (f"tests/test_semantics.py::test_optimizer_follows_the_ir_formula[{target}-{spec}]",)


def loss(target: str, kind: str, units: int = 3) -> tuple[str, ...]:
    """tests/test_semantics.py's mean loss check for one target and loss."""
    node = f"test_evaluate_is_the_mean_loss_and_accuracy[{target}-{kind}-{units}]"
    return (f"tests/test_semantics.py::{node}",)


def bn(target: str) -> tuple[str, ...]:
    return (f"tests/test_semantics.py::test_batchnorm_moving_statistics_follow_the_ir[{target}]",)


def init(target: str) -> tuple[str, ...]:
    return (f"tests/test_semantics.py::test_initial_weights_follow_the_ir[{target}]",)


def started(target: str) -> tuple[str, ...]:
    """The train command from a weights file: compare's weight and batch-order digests."""
    node = f"test_train_starts_from_the_initial_weights_file[{target}]"
    return (f"tests/test_modules.py::{node}",)


ADAM = "adam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=0.1)"
RMSPROP = "rmsprop(learning_rate=0.01, momentum=0.5, epsilon=0.01)"
CENTERED = "rmsprop(learning_rate=0.01, centered=true, epsilon=0.01)"
ADAGRAD = "adagrad(learning_rate=0.1, initial_accumulator_value=0.01, epsilon=0.01)"
NESTEROV = "sgd(learning_rate=0.1, momentum=0.9, nesterov=true)"
CF = "dsl/targets/channels_first.py"
SUPPORT = {t: f"templates/{t}/support.py.j2" for t in ("torch", "tf", "gluon", "flax")}
TARGET = {t: f"dsl/targets/{t}.py" for t in ("keras", "torch", "tf", "gluon", "flax")}
TORCH_WEIGHTS = "dsl/targets/torch_weights.py"
GLUON_PARAMS = "dsl/targets/gluon_params.py"
GLUON_TRAINING = "dsl/targets/gluon_training.py"
HARNESS_CLI = "templates/_shared/harness_cli.j2"
HARNESS_DATA = "templates/_shared/harness_data.j2"
COMPARE = "tests/test_compare.py"
ONNX = "tests/test_onnx.py::test_case_matches_the_reference"

MUTANTS: list[Mutant] = [
    # --- initialisers ---
    Mutant("keras/init", TARGET["keras"],
           "out[_INITIALIZERS[param]] = weight.initializer", "pass",
           ("tests/test_keras.py::test_initial_weights_follow_the_ir",)),
    Mutant("torch/init", TORCH_WEIGHTS,
           'return Call("nn.init.xavier_uniform_")',
           'return Call("nn.init.kaiming_uniform_", kwargs={"a": 5**0.5})',
           init("torch")),
    Mutant("tf/init", SUPPORT["tf"],
           '"glorot_uniform": glorot_uniform,', '"glorot_uniform": he_uniform,',
           ("tests/test_tf.py::test_initialisers_are_the_irs",)),
    Mutant("gluon/init", "templates/gluon/module.py.j2",
           "model.initialize(mx.init.Xavier(), ctx", "model.initialize(mx.init.Uniform(), ctx",
           ("tests/test_gluon.py::test_initialisers_draw_what_the_ir_says",)),
    Mutant("flax/init", TARGET["flax"],
           '_DEFAULTS = {"kernel_init": "lecun_normal",',
           '_DEFAULTS = {"kernel_init": "glorot_uniform",',
           init("flax")),
    Mutant("initial/compare-init", "dsl/initial.py",
           'np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])',
           "np.random.default_rng(seed)",
           (f"{COMPARE}::test_constant_initialisers_and_determinism",)),
    # --- BatchNorm ---
    Mutant("keras/bn-momentum", TARGET["keras"],
           '"momentum": op.momentum, **kwargs}', '"momentum": round(1.0 - op.momentum, 12), **kwargs}',
           bn("keras")),
    Mutant("torch/bn-momentum", TARGET["torch"],
           '"momentum": round(1.0 - op.momentum, 12)', '"momentum": op.momentum', bn("torch")),
    Mutant("tf/bn-momentum", TARGET["tf"],
           'kwargs={"momentum": op.momentum, "epsilon"',
           'kwargs={"momentum": round(1.0 - op.momentum, 12), "epsilon"', bn("tf")),
    Mutant("gluon/bn-momentum", TARGET["gluon"],
           '{"momentum": op.momentum, "epsilon": op.epsilon}',
           '{"momentum": round(1.0 - op.momentum, 12), "epsilon": op.epsilon}', bn("gluon")),
    Mutant("flax/bn-momentum", TARGET["flax"],
           '{"momentum": op.momentum, **_norm(op)', '{"momentum": round(1.0 - op.momentum, 12), **_norm(op)',
           bn("flax")),
    Mutant("torch/bn-variance", SUPPORT["torch"],
           "invstd.pow(-2) - self.eps, self.momentum)",
           "(invstd.pow(-2) - self.eps) * x.numel() / (x.numel() - x.shape[1]), self.momentum)",
           bn("torch")),
    Mutant("keras/bn-epsilon", TARGET["keras"],
           'kwargs: dict[str, Any] = {"epsilon": op.epsilon}', "kwargs: dict[str, Any] = {}",
           contract("keras", "batchnorm-eps-no_center_scale")),
    Mutant("torch/bn-epsilon", TARGET["torch"],
           '"momentum": round(1.0 - op.momentum, 12), "eps": op.epsilon}',
           '"momentum": round(1.0 - op.momentum, 12), "eps": 1e-5}',
           contract("torch", "batchnorm-eps-no_center_scale")),
    Mutant("tf/bn-epsilon", TARGET["tf"],
           '"momentum": op.momentum, "epsilon": op.epsilon}', '"momentum": op.momentum, "epsilon": 1e-3}',
           contract("tf", "batchnorm-eps-no_center_scale")),
    Mutant("gluon/bn-epsilon", TARGET["gluon"],
           '{"momentum": op.momentum, "epsilon": op.epsilon}', '{"momentum": op.momentum}',
           contract("gluon", "batchnorm-eps-no_center_scale")),
    Mutant("flax/bn-epsilon", TARGET["flax"],
           'kwargs: dict[str, Any] = {"epsilon": op.epsilon}', "kwargs: dict[str, Any] = {}",
           contract("flax", "batchnorm-eps-no_center_scale")),
    # --- layer norm ---
    Mutant("torch/ln-epsilon", TARGET["torch"],
           'kwargs: dict[str, Any] = {"eps": op.epsilon}', "kwargs: dict[str, Any] = {}",
           contract("torch", "layernorm")),
    Mutant("tf/ln-epsilon", TARGET["tf"],
           'kwargs={"epsilon": node.op.epsilon}', 'kwargs={"epsilon": 1e-3}',
           contract("tf", "layernorm-image-eps")),
    Mutant("gluon/ln-epsilon", TARGET["gluon"],
           'op: ir.LayerNorm = node.op\n    kwargs: dict[str, Any] = {"epsilon": op.epsilon}',
           "op: ir.LayerNorm = node.op\n    kwargs: dict[str, Any] = {}",
           contract("gluon", "layernorm")),
    Mutant("flax/ln-epsilon", TARGET["flax"],
           'kwargs = {**_norm(node.op), "use_fast_variance": False}',
           'kwargs = {**_norm(node.op), "epsilon": 1e-6, "use_fast_variance": False}',
           contract("flax", "layernorm-image-eps")),
    # --- optimizers ---
    Mutant("keras/adam-epsilon", TARGET["keras"],
           "if not isinstance(v, dict)]", 'if not isinstance(v, dict) and k != "epsilon"]',
           optimizer("keras", ADAM)),
    Mutant("torch/adam-epsilon", SUPPORT["torch"],
           'torch._foreach_add(torch._foreach_sqrt(v), group["eps"])',
           'torch._foreach_sqrt(torch._foreach_add(v, group["eps"]))',
           optimizer("torch", ADAM)),
    Mutant("tf/adam-epsilon", SUPPORT["tf"],
           "m / (tf.sqrt(v) + self.epsilon)", "m / tf.sqrt(v + self.epsilon)",
           optimizer("tf", ADAM)),
    Mutant("gluon/adam-epsilon", GLUON_TRAINING,
           '"beta2": "BETA_2", "epsilon": "EPSILON"}', '"beta2": "BETA_2"}',
           optimizer("gluon", ADAM)),
    Mutant("flax/adam-epsilon", SUPPORT["flax"],
           "scale * m / (jnp.sqrt(v) + epsilon)", "scale * m / jnp.sqrt(v + epsilon)",
           optimizer("flax", ADAM)),
    Mutant("torch/rmsprop-epsilon", SUPPORT["torch"],
           'torch._foreach_sqrt(torch._foreach_add(denominator, group["eps"]))',
           'torch._foreach_add(torch._foreach_sqrt(denominator), group["eps"])',
           optimizer("torch", RMSPROP)),
    Mutant("tf/rmsprop-epsilon", SUPPORT["tf"],
           "denominator = square + self.epsilon", "denominator = square",
           optimizer("tf", RMSPROP)),
    Mutant("gluon/rmsprop-epsilon", SUPPORT["gluon"],
           "grad / mx.nd.sqrt(square + self.epsilon)", "grad / (mx.nd.sqrt(square) + self.epsilon)",
           optimizer("gluon", RMSPROP)),
    Mutant("flax/rmsprop-epsilon", TARGET["flax"],
           "centered=CENTERED, momentum=MOMENTUM)", "centered=CENTERED, momentum=MOMENTUM, eps_in_sqrt=False)",
           optimizer("flax", CENTERED)),
    Mutant("torch/adagrad-start", SUPPORT["torch"],
           'torch.full_like(p, group["initial"])', "torch.zeros_like(p)",
           optimizer("torch", ADAGRAD)),
    Mutant("tf/adagrad-start", SUPPORT["tf"],
           '("accumulator",), initial_accumulator_value)', '("accumulator",))',
           optimizer("tf", ADAGRAD)),
    Mutant("gluon/adagrad-start", SUPPORT["gluon"],
           "mx.nd.full(weight.shape, self.initial_accumulator_value, weight.context)",
           "mx.nd.zeros(weight.shape, weight.context)",
           optimizer("gluon", ADAGRAD)),
    Mutant("flax/adagrad-start", TARGET["flax"],
           "optax.adagrad(LEARNING_RATE, INITIAL_ACCUMULATOR_VALUE, EPSILON)",
           "optax.adagrad(LEARNING_RATE, eps=EPSILON)",
           optimizer("flax", ADAGRAD)),
    Mutant("torch/sgd-nesterov", "templates/torch/training.j2",
           "nesterov=NESTEROV, foreach=True", "nesterov=False, foreach=True",
           optimizer("torch", NESTEROV)),
    Mutant("tf/sgd-nesterov", SUPPORT["tf"],
           "use_nesterov=self.nesterov,", "use_nesterov=False,",
           optimizer("tf", NESTEROV)),
    Mutant("gluon/sgd-nesterov", GLUON_TRAINING,
           '"sgd": lambda op: "nag" if op.nesterov else "arraysgd"', '"sgd": lambda op: "arraysgd"',
           optimizer("gluon", NESTEROV)),
    Mutant("gluon/sgd-momentum", SUPPORT["gluon"],
           "weight, grad, state, out=weight, momentum=self.momentum,",
           "weight, grad, state, out=weight, momentum=0.0,",
           optimizer("gluon", "sgd(learning_rate=0.1, momentum=0.9)")),
    Mutant("flax/sgd-nesterov", TARGET["flax"],
           "optax.sgd(LEARNING_RATE, MOMENTUM, NESTEROV)", "optax.sgd(LEARNING_RATE, MOMENTUM)",
           optimizer("flax", NESTEROV)),
    # --- losses ---
    Mutant("tf/loss-mean", "templates/tf/training.j2",
           "return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(",
           "return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(",
           loss("tf", "categorical_crossentropy")),
    Mutant("gluon/loss-mean", "templates/gluon/module.py.j2",
           "    trainer.step(batch_size)", "    trainer.step(1)",
           ("tests/test_step_parity.py::test_optimizer_step_agrees[sgd]",)),
    Mutant("gluon/mse-scale", GLUON_TRAINING,
           'Call("gluon.loss.L2Loss", kwargs={"weight": 2.0})', 'Call("gluon.loss.L2Loss")',
           loss("gluon", "mse")),
    Mutant("flax/loss-mean", "templates/flax/module.py.j2",
           "optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()",
           "optax.softmax_cross_entropy_with_integer_labels(logits, y).sum()",
           loss("flax", "categorical_crossentropy")),
    Mutant("keras/loss-logits", TARGET["keras"],
           'kwargs = {"from_logits": True} if program.loss_from_logits else {}', "kwargs = {}",
           loss("keras", "categorical_crossentropy")),
    Mutant("torch/loss-logits", TARGET["torch"],
           "                if program.loss_from_logits\n", "                if False\n",
           loss("torch", "categorical_crossentropy")),
    Mutant("tf/loss-logits", "templates/tf/training.j2",
           "(labels=y, logits=logits))", "(labels=y, logits=tf.nn.softmax(logits)))",
           loss("tf", "categorical_crossentropy")),
    Mutant("gluon/loss-logits", TARGET["gluon"],
           "None if program.loss_from_logits else output_activation(output.activation)",
           "output_activation(output.activation)",
           loss("gluon", "categorical_crossentropy")),
    Mutant("flax/loss-logits", "templates/flax/module.py.j2",
           "optax.softmax_cross_entropy_with_integer_labels(logits, y)",
           "optax.softmax_cross_entropy_with_integer_labels(nnx.softmax(logits), y)",
           loss("flax", "categorical_crossentropy")),
    # --- padding ---
    Mutant("channels_first/pad-same", CF,
           "return tuple(width for axis in reversed(padding) for width in axis)",
           "return tuple(width for axis in reversed(padding) for width in reversed(axis))",
           contract("torch", "conv2d-same-k4-s2")),
    Mutant("gluon/pad-same", TARGET["gluon"],
           "return () if symmetric(node.padding) else node.padding",
           "return () if symmetric(node.padding) else tuple((a, b) for b, a in node.padding)",
           contract("gluon", "conv2d-same-k4-s2")),
    Mutant("flax/pad-same", TARGET["flax"],
           "return node.padding if any(b or a for b, a in node.padding)",
           "return tuple((a, b) for b, a in node.padding) if any(b or a for b, a in node.padding)",
           contract("flax", "conv2d-same-k4-s2")),
    Mutant("flax/conv-padding", TARGET["flax"],
           'kwargs["padding"] = _padding(node)  # nnx.Conv\'s default is "SAME"',
           "pass",
           contract("flax", "conv2d-valid")),
    Mutant("torch/maxpool-pad", "templates/torch/layers.j2",
           'value=float("-inf")', "value=0.0", contract("torch", "maxpool2d-same-k3-s2")),
    Mutant("gluon/maxpool-pad", "templates/gluon/layers.j2",
           'v.args.pad | lit }}, float("-inf"))', 'v.args.pad | lit }}, 0.0)',
           contract("gluon", "maxpool2d-same-k3-s2")),
    Mutant("torch/avgpool-pad", TARGET["torch"],
           'kwargs["count_include_pad"] = False', 'kwargs["count_include_pad"] = True',
           contract("torch", "avgpool1d-same-k3-s2")),
    Mutant("gluon/avgpool-pad", TARGET["gluon"],
           'kwargs["count_include_pad"] = False', 'kwargs["count_include_pad"] = True',
           contract("gluon", "avgpool1d-same-k3-s2")),
    Mutant("flax/avgpool-pad", TARGET["flax"],
           'kwargs["count_include_pad"] = False', 'kwargs["count_include_pad"] = True',
           contract("flax", "avgpool2d-same-k3-input2x2")),
    Mutant("flax/pool-stride", TARGET["flax"],
           "kwargs = _window(node, op.stride)\n    if average",
           "kwargs = _window(node, (1,) * len(op.stride))\n    if average",
           contract("flax", "maxpool2d-valid")),
    # --- activations ---
    Mutant("keras/leaky-slope", TARGET["keras"],
           'kwargs["negative_slope"] = op.negative_slope', "pass",
           contract("keras", "act-leaky_relu-default")),
    Mutant("torch/leaky-slope", TARGET["torch"],
           'Call("F.leaky_relu", kwargs={"negative_slope": op.negative_slope})',
           'Call("F.leaky_relu")', contract("torch", "act-leaky_relu-default")),
    Mutant("tf/leaky-slope", TARGET["tf"],
           'Call("tf.nn.leaky_relu", kwargs={"alpha": op.negative_slope})',
           'Call("tf.nn.leaky_relu")', contract("tf", "act-leaky_relu-default")),
    Mutant("gluon/leaky-slope", TARGET["gluon"],
           'kwargs["slope"] = op.negative_slope', "pass", contract("gluon", "act-leaky_relu-default")),
    Mutant("flax/leaky-slope", TARGET["flax"],
           'Call("nnx.leaky_relu", kwargs={"negative_slope": op.negative_slope})',
           'Call("nnx.leaky_relu")', contract("flax", "act-leaky_relu-default")),
    Mutant("torch/gelu-exact", TARGET["torch"],
           'kwargs={"approximate": "tanh"} if op.approximate else {}',
           'kwargs={"approximate": "tanh"}', contract("torch", "act-gelu-exact")),
    Mutant("gluon/gelu-exact", TARGET["gluon"],
           'kind == "silu" or (kind == "gelu" and op.approximate)',
           'kind == "silu" or kind == "gelu"', contract("gluon", "act-gelu-exact")),
    Mutant("flax/gelu-exact", TARGET["flax"],
           'kwargs={} if op.approximate else {"approximate": False}', "kwargs={}",
           contract("flax", "act-gelu-exact")),
    Mutant("torch/softmax-axis", TARGET["torch"],
           'Call("F.softmax", kwargs={"dim": 1 if channels_first else -1})',
           'Call("F.softmax", kwargs={"dim": -1})', contract("torch", "softmax-after-conv")),
    # --- layout ---
    Mutant("channels_first/flatten-order", CF,
           '_LAST = {"dense", "flatten", ', '_LAST = {"dense", ',
           contract("torch", "flatten") + contract("gluon", "flatten")),
    Mutant("channels_first/concat-axis", CF,
           "return 1 if axis == rank - 1 else axis + 1", "return axis",
           contract("torch", "graph-branches")),
    Mutant("keras/concat-axis", TARGET["keras"],
           'kwargs = {"axis": op.axis} if op.kind == "concatenate" and op.axis != -1 else {}',
           "kwargs = {}", contract("keras", "concatenate-axis2-image")),
    Mutant("tf/concat-axis", "templates/tf/layers.j2",
           "join(\", \") }}], axis={{ v.args.axis }})", "join(\", \") }}], axis=-1)",
           contract("tf", "concatenate-axis2-image")),
    Mutant("flax/concat-axis", "templates/flax/layers.j2",
           "join(\", \") }}], axis={{ v.args.axis }})", "join(\", \") }}], axis=-1)",
           contract("flax", "concatenate-axis2-image")),
    Mutant("forward/graph-order", "dsl/forward.py",
           "    for node in program.nodes:\n        want",
           "    for node in sorted(program.nodes, key=lambda n: n.name):\n        want",
           contract("torch", "graph-two_outputs")),
    # --- recurrent layers ---
    Mutant("keras/rnn-bias", TARGET["keras"],
           'kwargs["reset_after"] = True', 'kwargs["reset_after"] = False', contract("keras", "gru")),
    Mutant("torch/rnn-bias", TORCH_WEIGHTS,
           'out += [(attribute(f"{node.name}.bias_hh_l0{suffix}"), "zeros") for suffix in suffixes]',
           "out += []", ("tests/test_step_parity.py::test_graph_step_agrees[lstm]",)),
    Mutant("tf/rnn-bias", SUPPORT["tf"],
           "h @ recurrent_kernel if recurrent_bias is None else h @ recurrent_kernel + recurrent_bias",
           "h @ recurrent_kernel", contract("tf", "gru")),
    Mutant("gluon/rnn-bias", GLUON_PARAMS,
           'biases = ("h2h_bias",) if layer.use_bias else ("i2h_bias", "h2h_bias")',
           'biases = () if layer.use_bias else ("i2h_bias", "h2h_bias")',
           ("tests/test_gluon.py::test_the_second_recurrent_bias_stays_zero_and_uncounted",)),
    Mutant("flax/rnn-bias", SUPPORT["flax"],
           "r = h @ recurrent_kernel + recurrent_bias", "r = h @ recurrent_kernel",
           contract("flax", "gru")),
    Mutant("channels_first/gate-order", CF,
           '"gru": (1, 0, 2)', '"gru": (0, 1, 2)', contract("torch", "gru") + contract("gluon", "gru")),
    Mutant("tf/gate-order", SUPPORT["tf"],
           "i, f, g, o = tf.split(", "i, g, f, o = tf.split(", contract("tf", "lstm")),
    Mutant("flax/gate-order", SUPPORT["flax"],
           "i, f, g, o = jnp.split(", "i, g, f, o = jnp.split(", contract("flax", "lstm")),
    Mutant("torch/bidir-merge", "templates/torch/layers.j2",
           'out ~ "[:, 0, " ~ units ~ ":]"', 'out ~ "[:, -1, " ~ units ~ ":]"',
           contract("torch", "bidirectional-gru-concat")),
    Mutant("tf/bidir-merge", "templates/tf/layers.j2",
           '"forward[:, -1]", "backward[:, 0]"', '"forward[:, -1]", "backward[:, -1]"',
           contract("tf", "bidirectional-gru-concat")),
    Mutant("gluon/bidir-merge", "templates/gluon/layers.j2",
           "begin=(None, 0, {{ units }}), end=(None, 1, None)",
           "begin=(None, -1, {{ units }}), end=(None, None, None)",
           contract("gluon", "bidirectional-gru-concat")),
    Mutant("flax/bidir-merge", SUPPORT["flax"],
           "return outputs[:, 0] if self.go_backwards else outputs[:, -1]",
           "return outputs[:, -1]", contract("flax", "bidirectional-gru-concat")),
    # --- comparisons: the same initial weights and batch order everywhere ---
    Mutant("compare/compare-init", "dsl/compare.py",
           'argv += ["--initial-weights", str(Path(repeat.initial_weights).resolve())]',
           "argv += []",
           (f"{COMPARE}::test_repeats_interleave_pass_seeds_and_weights_and_quiet_tensorflow",)),
    Mutant("harness/compare-init", HARNESS_CLI,
           "module.import_weights(model, read_weights(args.initial_weights))", "pass",
           started("torch")),
    Mutant("harness/batch-order", HARNESS_DATA,
           "order = np.random.default_rng([seed, epoch]).permutation(count)",
           "order = np.random.default_rng(seed).permutation(count)",
           started("torch")),
    Mutant("keras/batch-order", "templates/keras/module.py.j2",
           "order = _harness.epoch_order(len(x), seed, epoch)\n        data = (Batches",
           "order = _harness.epoch_order(len(x), seed, 0)\n        data = (Batches",
           started("keras")),
    Mutant("torch/batch-order", "templates/torch/module.py.j2",
           "_harness.epoch_order(len(x), seed, epoch)", "_harness.epoch_order(len(x), seed, 0)",
           started("torch")),
    Mutant("tf/batch-order", "templates/tf/module.py.j2",
           "step_groups(_harness.epoch_order(len(x), seed, epoch), batch_size)",
           "step_groups(_harness.epoch_order(len(x), seed, 0), batch_size)",
           started("tf")),
    Mutant("gluon/batch-order", "templates/gluon/module.py.j2",
           "_harness.epoch_order(len(x), seed, epoch)", "_harness.epoch_order(len(x), seed, 0)",
           started("gluon")),
    Mutant("flax/batch-order", "templates/flax/module.py.j2",
           "_harness.epoch_order(len(x), seed, epoch)", "_harness.epoch_order(len(x), seed, 0)",
           started("flax")),
    # --- ONNX export ---
    Mutant("onnx/onnx-layout", "dsl/onnx_layers.py",
           "self.params[param].transpose(axes).reshape(shape))",
           "self.params[param].reshape(shape))",
           (f"{ONNX}[conv2d-same-k4-s2]",)),
    Mutant("onnx/onnx-gates", "dsl/onnx_layers.py",
           'ONNX_GATES = {"lstm": (0, 3, 1, 2),', 'ONNX_GATES = {"lstm": (0, 1, 2, 3),',
           (f"{ONNX}[lstm]",)),
]  # fmt: skip

# semantic families: FAST has a mutant of each (tests/test_mutants_table.py checks)
FAMILIES: dict[str, tuple[str, ...]] = {
    "initialisers": ("init",),
    "batchnorm": ("bn-momentum", "bn-epsilon", "bn-variance"),
    "layer norm": ("ln-epsilon",),
    "adam": ("adam-epsilon",),
    "rmsprop": ("rmsprop-epsilon",),
    "adagrad": ("adagrad-start",),
    "sgd": ("sgd-nesterov", "sgd-momentum"),
    "loss reduction": ("loss-mean", "mse-scale"),
    "logits": ("loss-logits",),
    "padding": ("pad-same", "conv-padding", "maxpool-pad", "avgpool-pad", "pool-stride"),
    "activations": ("leaky-slope", "gelu-exact", "softmax-axis"),
    "flatten order": ("flatten-order",),
    "recurrent biases": ("rnn-bias",),
    "gate order": ("gate-order",),
    "bidirectional merge": ("bidir-merge",),
    "concat axis": ("concat-axis",),
    "graph order": ("graph-order",),
    "same initial weights": ("compare-init",),
    "batch order": ("batch-order",),
    "onnx": ("onnx-layout", "onnx-gates"),
}

# the CI subset (make mutants-fast): at least one mutant per family, the cheapest
FAST: set[str] = {
    "torch/init", "torch/bn-momentum", "torch/ln-epsilon", "torch/adam-epsilon",
    "torch/rmsprop-epsilon", "torch/adagrad-start", "torch/sgd-nesterov", "flax/loss-mean",
    "torch/loss-logits", "channels_first/pad-same", "torch/leaky-slope",
    "channels_first/flatten-order", "flax/rnn-bias", "channels_first/gate-order",
    "torch/bidir-merge", "channels_first/concat-axis", "forward/graph-order",
    "compare/compare-init", "harness/batch-order", "onnx/onnx-layout",
}  # fmt: skip
