"""The native TensorFlow target: tf.Module, tf.Variable and tf.nn, no Keras."""
