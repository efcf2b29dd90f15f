"""The Keras 3 target (TensorFlow backend)."""
