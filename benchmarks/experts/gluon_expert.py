"""An expert's MXNet Gluon training of the benchmark models, written by hand: a hybridized
HybridSequential (static_alloc, static_shape), NDArrays in memory cut into batches of a
shuffled copy each epoch, sparse labels, gluon.Trainer."""

from __future__ import annotations

import numpy as np

np.bool = bool  # MXNet 1.9 reads np.bool, which NumPy 1.24 removed

import mxnet as mx  # noqa: E402
from common import Clock, arguments, mnist, record  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402
from mxnet.gluon import nn  # noqa: E402


def build(model: str) -> tuple[gluon.HybridBlock, str, dict]:
    net = nn.HybridSequential()
    if model == "cnn":
        net.add(
            nn.Conv2D(32, 3, activation="relu"), nn.MaxPool2D(2),
            nn.Conv2D(64, 3, activation="relu"), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Dense(10),
        )  # fmt: skip
        return net, "adam", {"learning_rate": 1e-3}
    net.add(nn.Dense(200, activation="sigmoid"), nn.Dense(10))
    return net, "sgd", {"learning_rate": 0.1, "momentum": 0.9}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    mx.random.seed(42)
    np.random.seed(42)
    ctx = mx.gpu() if mx.context.num_gpus() and args.device != "cpu" else mx.cpu()
    (x, y), (xt, yt) = mnist(args.samples)
    x, xt = x.transpose(0, 3, 1, 2), xt.transpose(0, 3, 1, 2)
    net, name, hyper = build(args.model)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), name, hyper)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    clock = Clock()
    for _ in range(args.epochs):
        order = np.random.permutation(len(x))
        xs, ys = mx.nd.array(x[order], ctx=ctx), mx.nd.array(y[order], ctx=ctx)
        started = clock.epoch()
        for i in range(0, len(x), args.batch_size):
            xb, yb = xs[i : i + args.batch_size], ys[i : i + args.batch_size]
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(xb.shape[0])
            if i == 0 and clock.first_step is None:
                mx.nd.waitall()
                started = clock.after_first_step(started)
        mx.nd.waitall()
        clock.end_epoch(started)
    correct = 0
    for i in range(0, len(xt), 1000):
        out = net(mx.nd.array(xt[i : i + 1000], ctx=ctx)).argmax(axis=1).asnumpy()
        correct += int((out == yt[i : i + 1000]).sum())
    record(args, "expert-gluon", clock, len(x), correct / len(xt))


if __name__ == "__main__":
    main()
