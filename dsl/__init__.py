"""nndsl: one neural-network spec, idiomatic code for Keras, PyTorch, TensorFlow and Gluon."""

__version__ = "0.1.0"
