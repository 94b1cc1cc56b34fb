"""Import TensorFlow quietly with a fixed number of threads, so K workers do not fight over the same cores."""

from __future__ import annotations

import os


def import_tensorflow(threads: int | None = None):
    """TensorFlow with its C++ logging muted; ``threads`` intra-op threads (None: TensorFlow's default)."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # keep oneDNN/CUDA banners out of the user's view
    if not os.path.exists("/dev/nvidia0"):
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # no GPU here: skip the failing cuInit and its error line
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:
            pass  # already initialised in this process: the first setting stays
    return tf
