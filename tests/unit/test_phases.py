"""The phase plan and the per-epoch learning rate the Elephas workers get."""

import pytest

from engine.errors import InputError
from engine.ml import phases
from engine.ml.config import TrainConfig


def test_spans_split_the_epochs_at_the_switch():
    two = TrainConfig(dataset="d", arch="resnet50", epochs=12, freeze_epochs=2).validate()
    assert [(s.phase, s.start, s.end) for s in phases.spans(two)] == [("frozen", 0, 2), ("finetune", 2, 12)]
    assert two.unfreeze == 0.2
    adapted = TrainConfig(dataset="d", init_from="m", epochs=5, freeze_epochs=1).validate()
    assert adapted.unfreeze == 1.0  # head first, then all layers
    assert [s.phase for s in phases.spans(TrainConfig(dataset="d", epochs=3))] == ["single"]
    assert [s.phase for s in phases.spans(TrainConfig(dataset="d", epochs=3, init_from="m"))] == ["finetune"]


def test_rates_warm_up_then_decay_and_finetuning_restarts_at_its_own_rate():
    config = TrainConfig(dataset="d", arch="resnet50", epochs=10, freeze_epochs=4, learning_rate=2e-3, finetune_learning_rate=1e-4, warmup_epochs=2).validate()
    rates = [phases.learning_rate_at(config, e) for e in range(10)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(2e-3)  # warm-up to the peak
    assert rates[4] == pytest.approx(1e-4) and rates[4] > rates[5] > rates[9] > 0  # the switch: the lower rate, decaying
    single = TrainConfig(dataset="d", epochs=30).validate()
    assert phases.learning_rate_at(single, 29) == pytest.approx(2e-3 * (0.01 + 0.99 * 0.5 * (1 + __import__("math").cos(__import__("math").pi * 27 / 28))))


@pytest.mark.parametrize("kwargs", [{"freeze_epochs": 2}, {"arch": "resnet50", "unfreeze": 0.0}, {"arch": "resnet50", "unfreeze": 1.5}, {"freeze_epochs": -1}])
def test_bad_transfer_settings_are_refused(kwargs):
    with pytest.raises(InputError):
        TrainConfig(dataset="d", **kwargs).validate()
