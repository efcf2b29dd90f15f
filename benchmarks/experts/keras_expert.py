"""An expert's Keras 3 training of the benchmark models, written by hand: keras.Sequential,
compile (logits, sparse labels, 16 steps a compiled call) and fit on in-memory arrays with
Keras' own shuffling."""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # a script, not a library: quiet TF

import keras  # noqa: E402
from common import Clock, arguments, mnist, record  # noqa: E402

L = keras.layers


def build(model: str) -> tuple[keras.Model, keras.optimizers.Optimizer]:
    if model == "cnn":
        layers = [
            L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
            L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
            L.Flatten(), L.Dropout(0.5), L.Dense(10),
        ]  # fmt: skip
        return keras.Sequential([keras.Input((28, 28, 1)), *layers]), keras.optimizers.Adam(1e-3)
    layers = [L.Flatten(), L.Dense(200, activation="sigmoid"), L.Dense(10)]
    net = keras.Sequential([keras.Input((28, 28, 1)), *layers])
    return net, keras.optimizers.SGD(0.1, momentum=0.9)


class Timer(keras.callbacks.Callback):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock, self.started = clock, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):  # the last step of a compiled call
        if self.clock.first_step is None:
            self.started = self.clock.after_first_step(self.started, steps=batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.clock.end_epoch(self.started)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    keras.utils.set_random_seed(42)
    (x, y), (xt, yt) = mnist(args.samples)
    net, optimizer = build(args.model)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    net.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=16)
    clock = Clock()
    net.fit(
        x, y, batch_size=args.batch_size, epochs=args.epochs, callbacks=[Timer(clock)], verbose=0
    )
    _, accuracy = net.evaluate(xt, yt, batch_size=1000, verbose=0)
    record(args, "expert-keras", clock, len(x), float(accuracy))


if __name__ == "__main__":
    main()
