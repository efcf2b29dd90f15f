"""An expert's Theano training of the benchmark models, written by hand as the Theano
tutorials (LeNet, MLP) do: float32 everywhere (floatX=float32), the data in shared variables
reshuffled each epoch, one theano.function taking a minibatch index (`givens` slices the
data), theano.grad and the optimizer as `updates`; the system OpenBLAS linked for Theano's
BLAS calls when there is one (blas.ldflags=-lopenblas; else numpy's C-API, as the generated
modules use)."""

from __future__ import annotations

import ctypes.util
import os

import numpy as np

np.bool = bool  # Theano 1.0.5 reads np.bool, which NumPy 1.24 removed
# the flags an expert puts in ~/.theanorc, for this process unless THEANO_FLAGS is set (e.g.
# "floatX=float32,blas.ldflags=" to time numpy's C-API BLAS instead); naming blas.ldflags also
# skips Theano's numpy.distutils BLAS probe, which fails under setuptools >= 74
BLAS = "-lopenblas" if ctypes.util.find_library("openblas") else ""
os.environ.setdefault("THEANO_FLAGS", f"floatX=float32,blas.ldflags={BLAS}")

import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from common import Clock, arguments, mnist, record  # noqa: E402
from theano.sandbox.rng_mrg import MRG_RandomStreams  # noqa: E402
from theano.tensor.nnet import conv2d  # noqa: E402
from theano.tensor.signal.pool import pool_2d  # noqa: E402

rng = np.random.RandomState(42)
srng = MRG_RandomStreams(42)


def glorot(shape: tuple[int, ...], fan_in: int, fan_out: int) -> theano.compile.SharedVariable:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return theano.shared(rng.uniform(-limit, limit, shape).astype("float32"), borrow=True)


def zeros(n: int) -> theano.compile.SharedVariable:
    return theano.shared(np.zeros(n, "float32"), borrow=True)


def cnn(x: T.TensorVariable, train: bool, params: list) -> T.TensorVariable:
    w1, b1, w2, b2, w3, b3 = params
    h = T.nnet.relu(conv2d(x, w1, filter_flip=False) + b1.dimshuffle("x", 0, "x", "x"))
    h = pool_2d(h, (2, 2), ignore_border=True)
    h = T.nnet.relu(conv2d(h, w2, filter_flip=False) + b2.dimshuffle("x", 0, "x", "x"))
    h = pool_2d(h, (2, 2), ignore_border=True).reshape((-1, 1600))
    if train:
        h = h * srng.binomial(h.shape, p=0.5, dtype="float32") / np.float32(0.5)
    return T.dot(h, w3) + b3


def cnn_params() -> list:
    return [
        glorot((32, 1, 3, 3), 9, 9 * 32), zeros(32),
        glorot((64, 32, 3, 3), 9 * 32, 9 * 64), zeros(64),
        glorot((1600, 10), 1600, 10), zeros(10),
    ]  # fmt: skip


def mlp(x: T.TensorVariable, train: bool, params: list) -> T.TensorVariable:
    w1, b1, w2, b2 = params
    return T.dot(T.nnet.sigmoid(T.dot(x.reshape((-1, 784)), w1) + b1), w2) + b2


def mlp_params() -> list:
    return [glorot((784, 200), 784, 200), zeros(200), glorot((200, 10), 200, 10), zeros(10)]


def adam(cost: T.TensorVariable, params: list, lr: float = 1e-3) -> list:
    """Keras' Adam (epsilon outside the root, the bias correction folded into lr_t)."""
    t = theano.shared(np.float32(0.0))
    t_new = t + np.float32(1.0)
    lr_t = np.float32(lr) * T.sqrt(1 - np.float32(0.999) ** t_new) / (1 - np.float32(0.9) ** t_new)
    updates = [(t, t_new)]
    for p, g in zip(params, theano.grad(cost, params)):
        m = theano.shared(np.zeros_like(p.get_value()))
        v = theano.shared(np.zeros_like(p.get_value()))
        m_new = np.float32(0.9) * m + np.float32(0.1) * g
        v_new = np.float32(0.999) * v + np.float32(0.001) * T.sqr(g)
        p_new = p - lr_t * m_new / (T.sqrt(v_new) + np.float32(1e-7))
        updates += [(m, m_new), (v, v_new), (p, p_new)]
    return updates


def momentum(cost: T.TensorVariable, params: list, lr: float = 0.1, mu: float = 0.9) -> list:
    updates = []
    for p, g in zip(params, theano.grad(cost, params)):
        v = theano.shared(np.zeros_like(p.get_value()))
        v_new = np.float32(mu) * v - np.float32(lr) * g
        updates += [(v, v_new), (p, p + v_new)]
    return updates


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    if args.device not in ("auto", "cpu"):
        raise SystemExit("this Theano has no GPU backend (libgpuarray)")
    (x_np, y_np), (xt_np, yt_np) = mnist(args.samples)
    x_np, xt_np = x_np.transpose(0, 3, 1, 2), xt_np.transpose(0, 3, 1, 2)
    forward, params = (cnn, cnn_params()) if args.model == "cnn" else (mlp, mlp_params())
    train_x = theano.shared(x_np, borrow=True)
    train_y = theano.shared(y_np.astype("int32"), borrow=True)
    index, x, y = T.lscalar("index"), T.tensor4("x"), T.ivector("y")
    logits = forward(x, True, params)
    cost = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y).mean()
    updates = adam(cost, params) if args.model == "cnn" else momentum(cost, params)
    batch = slice(index * args.batch_size, (index + 1) * args.batch_size)
    train = theano.function(
        [index], cost, updates=updates, givens={x: train_x[batch], y: train_y[batch]}
    )
    predict = theano.function([x], T.argmax(forward(x, False, params), axis=1))
    clock = Clock()
    steps = -(-len(x_np) // args.batch_size)
    for _ in range(args.epochs):
        order = rng.permutation(len(x_np))
        train_x.set_value(x_np[order], borrow=True)
        train_y.set_value(y_np[order].astype("int32"), borrow=True)
        started = clock.epoch()
        for i in range(steps):
            train(i)
            if i == 0 and clock.first_step is None:
                started = clock.after_first_step(started)
        clock.end_epoch(started)
    correct = sum(
        int((predict(xt_np[i : i + 1000]) == yt_np[i : i + 1000]).sum())
        for i in range(0, len(xt_np), 1000)
    )
    record(args, "expert-theano", clock, len(x_np), correct / len(xt_np))


if __name__ == "__main__":
    main()
