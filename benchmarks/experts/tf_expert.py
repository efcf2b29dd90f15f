"""An expert's low-level TensorFlow training of the benchmark models, written by hand: a
tf.Module of tf.Variables, tf.nn ops, a tf.function train step with GradientTape, fused
optimizer kernels (ResourceApplyAdam / ResourceApplyKerasMomentum), a tf.data pipeline."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # a script, not a library: quiet TF

import tensorflow as tf  # noqa: E402
from common import Clock, arguments, mnist, record  # noqa: E402


def _glorot(shape: tuple[int, ...]) -> tf.Variable:
    receptive = 1
    for d in shape[:-2]:
        receptive *= d
    limit = (6.0 / ((shape[-2] + shape[-1]) * receptive)) ** 0.5
    return tf.Variable(tf.random.uniform(shape, -limit, limit))


class Net(tf.Module):
    def __init__(self, model: str):
        super().__init__()
        self.model = model
        if model == "cnn":
            self.k1, self.b1 = _glorot((3, 3, 1, 32)), tf.Variable(tf.zeros(32))
            self.k2, self.b2 = _glorot((3, 3, 32, 64)), tf.Variable(tf.zeros(64))
            self.k3, self.b3 = _glorot((1600, 10)), tf.Variable(tf.zeros(10))
        else:
            self.k1, self.b1 = _glorot((784, 200)), tf.Variable(tf.zeros(200))
            self.k3, self.b3 = _glorot((200, 10)), tf.Variable(tf.zeros(10))

    def __call__(self, x, training=False):
        if self.model == "mlp":
            h = tf.sigmoid(tf.reshape(x, (-1, 784)) @ self.k1 + self.b1)
            return h @ self.k3 + self.b3
        h = tf.nn.relu(tf.nn.conv2d(x, self.k1, 1, "VALID") + self.b1)
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.relu(tf.nn.conv2d(h, self.k2, 1, "VALID") + self.b2)
        h = tf.reshape(tf.nn.max_pool2d(h, 2, 2, "VALID"), (-1, 1600))
        if training:
            h = tf.nn.dropout(h, 0.5)
        return h @ self.k3 + self.b3


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    tf.random.set_seed(42)
    (x, y), (xt, yt) = mnist(args.samples)
    net = Net(args.model)
    variables = net.trainable_variables
    slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
    step_count = tf.Variable(0.0)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            logits = net(xb, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits))
        grads = tape.gradient(loss, variables)
        step_count.assign_add(1.0)
        for v, g, (m, s) in zip(variables, grads, slots, strict=True):
            if args.model == "cnn":
                b1p, b2p = 0.9**step_count, 0.999**step_count
                tf.raw_ops.ResourceApplyAdam(
                    var=v.handle, m=m.handle, v=s.handle, beta1_power=b1p, beta2_power=b2p,
                    lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, grad=g,
                )  # fmt: skip
            else:
                tf.raw_ops.ResourceApplyKerasMomentum(
                    var=v.handle, accum=m.handle, lr=0.1, grad=g, momentum=0.9
                )
        return loss

    data = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=42)
        .batch(args.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    clock = Clock()
    for _ in range(args.epochs):
        started = clock.epoch()
        for index, (xb, yb) in enumerate(data):
            step(xb, yb)
            if index == 0 and clock.first_step is None:
                started = clock.after_first_step(started)
        clock.end_epoch(started)
    correct = sum(
        int(
            tf.reduce_sum(
                tf.cast(tf.argmax(net(xt[i : i + 1000]), 1) == yt[i : i + 1000], tf.int32)
            )
        )
        for i in range(0, len(xt), 1000)
    )
    record(args, "expert-tf", clock, len(x), correct / len(xt))


if __name__ == "__main__":
    main()
