"""The model: configuration, architectures, training (Keras and Elephas), calibration, metrics, evaluation, registry."""
