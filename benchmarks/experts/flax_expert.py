"""An expert's Flax (NNX) training of the benchmark models, written by hand: an nnx.Module,
optax, one nnx.jit-compiled train step, numpy batches of a permutation per epoch."""

from __future__ import annotations

import jax
import numpy as np
import optax
from common import Clock, arguments, mnist, record
from flax import nnx


class Net(nnx.Module):
    def __init__(self, model: str, rngs: nnx.Rngs):
        self.model = model
        if model == "cnn":
            self.conv1 = nnx.Conv(1, 32, (3, 3), padding="VALID", rngs=rngs)
            self.conv2 = nnx.Conv(32, 64, (3, 3), padding="VALID", rngs=rngs)
            self.drop = nnx.Dropout(0.5, rngs=rngs)
            self.out = nnx.Linear(1600, 10, rngs=rngs)
        else:
            self.hidden = nnx.Linear(784, 200, rngs=rngs)
            self.out = nnx.Linear(200, 10, rngs=rngs)

    def __call__(self, x):
        if self.model == "mlp":
            return self.out(nnx.sigmoid(self.hidden(x.reshape(x.shape[0], -1))))
        x = nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), (2, 2))
        x = nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), (2, 2))
        return self.out(self.drop(x.reshape(x.shape[0], -1)))


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    (x, y), (xt, yt) = mnist(args.samples)
    net = Net(args.model, nnx.Rngs(42))
    tx = optax.adam(1e-3) if args.model == "cnn" else optax.sgd(0.1, momentum=0.9)
    optimizer = nnx.Optimizer(net, tx, wrt=nnx.Param)

    @nnx.jit
    def step(net, optimizer, xb, yb):
        def loss_fn(net):
            logits = net(xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(net)
        optimizer.update(net, grads)
        return loss

    rng = np.random.default_rng(42)
    clock = Clock()
    net.train()
    batches = len(x) // args.batch_size  # full batches only: one compiled shape
    for _ in range(args.epochs):
        order = rng.permutation(len(x))
        started = clock.epoch()
        for i in range(batches):
            batch = order[i * args.batch_size : (i + 1) * args.batch_size]
            loss = step(net, optimizer, x[batch], y[batch])
            if i == 0 and clock.first_step is None:
                jax.block_until_ready(loss)
                started = clock.after_first_step(started)
        jax.block_until_ready(loss)
        clock.end_epoch(started)
    net.eval()
    predict = nnx.jit(lambda net, xb: net(xb).argmax(-1))
    correct = sum(
        int((np.asarray(predict(net, xt[i : i + 1000])) == yt[i : i + 1000]).sum())
        for i in range(0, len(xt), 1000)
    )
    record(args, "expert-flax", clock, batches * args.batch_size, correct / len(xt))


if __name__ == "__main__":
    main()
