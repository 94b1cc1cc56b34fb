"""Synchronous Elephas workers share the global batch, so an averaged epoch takes as many steps as Keras."""

from engine.ml.config import TrainConfig
from engine.ml.elephas_driver import worker_batch_size


def test_each_synchronous_worker_takes_its_share_of_the_batch():
    assert [worker_batch_size(TrainConfig("d", batch_size=32, workers=k)) for k in (1, 2, 3, 4)] == [32, 16, 10, 8]


def test_a_batch_smaller_than_the_workers_still_gives_each_one_image():
    assert worker_batch_size(TrainConfig("d", batch_size=2, workers=4)) == 1
