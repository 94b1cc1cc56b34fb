"""Two-phase transfer learning (ResNet50 from a weights file the test writes), adapting a registered model, and
`benchmark adapt`, against the real HDFS and Spark. Offline: no ImageNet download is attempted."""

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.bench.adapt import benchmark_adapt, plain_reading
from engine.data import datasets
from engine.data.ingest import ingest_dataset
from engine.data.preprocess import preprocess_dataset
from engine.ml import phases, registry
from engine.ml.config import TrainConfig
from engine.ml.fit import compile_for
from engine.ml.runs import read_history, run_dir
from engine.ml.training import train
from tests.images import SAMPLE

DATASET = "t-transfer"
SIZE = 32  # ResNet50's smallest input: keeps a 25 M-parameter network quick on 2 cores


@pytest.fixture(scope="module")
def prepared(storage, settings):
    ingest_dataset(storage, SAMPLE, DATASET)
    preprocess_dataset(settings, storage, DATASET, size=SIZE, workers=2)
    yield DATASET
    storage.delete(datasets.dataset_dir(DATASET), recursive=True)


@pytest.fixture(scope="module")
def resnet_weights(tmp_path_factory):
    """A ResNet50 base with random weights, saved by Keras: what a user's ImageNet file looks like, offline."""
    import keras

    path = tmp_path_factory.mktemp("weights") / "resnet50-random.weights.h5"
    keras.applications.ResNet50(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3), pooling="avg").save_weights(path)
    return str(path)


@pytest.fixture(scope="module")
def registered(prepared, settings, storage):
    card = train(settings, storage, TrainConfig(dataset=prepared, epochs=1, batch_size=8, size=SIZE, val_fraction=0.25))
    yield card["model_id"]
    storage.delete(f"{registry.models_root()}/{card['model_id']}", recursive=True)


def _drop(storage, card):
    storage.delete(f"{registry.models_root()}/{card['model_id']}", recursive=True)


def test_the_frozen_phase_trains_only_the_head_and_finetuning_keeps_batchnorm(resnet_weights):
    import keras

    from engine.ml.models import build_resnet50

    model = build_resnet50(SIZE, 3, resnet_weights)
    config = TrainConfig(dataset="x", arch="resnet50", epochs=2, freeze_epochs=1, unfreeze=0.2).validate()
    frozen, finetune = phases.spans(config)
    x = np.random.default_rng(0).uniform(0, 255, (8, SIZE, SIZE, 3)).astype("float32")
    y = np.eye(4, dtype="float32")[np.arange(8) % 4]
    base = model.get_layer("resnet50")
    first_conv, last_conv = base.get_layer("conv1_conv"), base.get_layer("conv5_block3_3_conv")
    bn = base.get_layer("conv5_block3_3_bn")
    before = [w.copy() for w in (first_conv.get_weights()[0], last_conv.get_weights()[0], bn.get_weights()[2])]
    compile_for(model, config, frozen, 1)
    assert phases.trainable_share(model) < 0.01  # the head: 2,048 x 4 + 4 of ~23.6 M
    model.fit(x, y, epochs=1, verbose=0)
    assert np.array_equal(last_conv.get_weights()[0], before[1])
    compile_for(model, config, finetune, 1)
    assert 0.3 < phases.trainable_share(model) < 0.9
    model.fit(x, y, epochs=1, verbose=0)
    assert np.array_equal(first_conv.get_weights()[0], before[0])  # below the top 20%: still frozen
    assert not np.array_equal(last_conv.get_weights()[0], before[1])  # the top: fine-tuned
    assert np.array_equal(bn.get_weights()[2], before[2])  # BatchNorm's moving mean is kept
    assert isinstance(model.optimizer, keras.optimizers.AdamW)


def test_two_phase_resnet50_resumes_across_the_switch(prepared, resnet_weights, settings, storage):
    config = dict(dataset=prepared, arch="resnet50", weights=resnet_weights, epochs=3, freeze_epochs=1, batch_size=8, size=SIZE, val_fraction=0.25)

    def stop_after_frozen_phase(done, total, message):
        if done == 1 and "epoch 1" in message:
            raise KeyboardInterrupt("killed at the switch")

    with pytest.raises(KeyboardInterrupt):
        train(settings, storage, TrainConfig(**config), on_progress=stop_after_frozen_phase)
    run_id = max((p for p in (settings.run_dir / "training").iterdir() if p.name.startswith(f"resnet50-{prepared}")), key=lambda p: p.stat().st_mtime).name
    assert [h["phase"] for h in read_history(settings, run_id)] == ["frozen"]
    card = train(settings, storage, TrainConfig(dataset=prepared), resume=run_id)
    try:
        history = card["history"]
        assert [h["phase"] for h in history] == ["frozen", "finetune", "finetune"]
        assert history[0]["trainable_share"] < 0.01 < 0.3 < history[1]["trainable_share"]
        assert history[1]["learning_rate"] <= 1e-4 + 1e-9  # the fine-tuning rate, from a fresh schedule
        assert card["transfer"]["phases"] == [{"phase": "frozen", "epochs": [1, 1]}, {"phase": "finetune", "epochs": [2, 3]}]
        assert card["architecture"] == "resnet50" and card["validation"]["n"] > 0
        assert (run_dir(settings, run_id) / "model" / "ood.json").exists()
    finally:
        _drop(storage, card)


def test_adapting_a_registered_model_with_elephas_rebuilds_workers_at_the_switch(prepared, registered, settings, storage):
    card = train(
        settings,
        storage,
        TrainConfig(dataset=prepared, init_from=registered, mode="synchronous", workers=2, epochs=2, freeze_epochs=1, batch_size=4, size=96, val_fraction=0.25),
    )
    try:
        assert card["init_from"] == registered and card["model_id"].startswith(f"compact-adapted-{prepared}")
        assert card["input"]["size"] == SIZE  # the registered model's size, not the one asked for
        history = card["history"]
        assert [h["phase"] for h in history] == ["frozen", "finetune"]
        assert history[0]["trainable_share"] < 0.01 and history[1]["trainable_share"] > 0.95
        # a new trainable set and optimizer: the workers' cached models do not match and are built again
        assert [h["workers_reusing_model"] for h in history] == [0, 0]
        folder = registry.fetch(settings, storage, card["model_id"])
        assert (folder / "ood.json").exists() and card["temperature"] > 0
    finally:
        _drop(storage, card)


def test_freeze_epochs_without_a_pretrained_start_is_refused(prepared, settings, storage):
    result = subprocess.run([sys.executable, "-m", "engine", "train", prepared, "--freeze-epochs", "2", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "pretrained start" in json.loads(result.stdout)["error"]


def test_benchmark_adapt_learning_curve(prepared, settings, storage):
    r = benchmark_adapt(settings, storage, prepared, [1, 2], size=SIZE, epochs=3, base_epochs=2, freeze_epochs=1, holdout=0.5, save=False)
    assert [(x["per_class"], x["method"]) for x in r["runs"]] == [(1, "scratch"), (1, "adapted"), (2, "scratch"), (2, "adapted")]
    assert all(0 <= x["accuracy"] <= 1 and x["seconds"] > 0 for x in r["runs"])
    assert [x["images"] for x in r["runs"]] == [4, 4, 8, 8]
    assert r["parts"]["pool"] + r["parts"]["test"] + r["parts"]["starting_model"] == r["images"]
    assert "per class" in plain_reading(r)


def test_imagenet_weights_offline_fail_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "-c", "from engine.ml.models import build_resnet50; build_resnet50(32, 3, 'imagenet')"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "KERAS_HOME": "/nonexistent-keras-cache"},
    )
    if result.returncode == 0:
        pytest.skip("this machine can download ImageNet weights")
    assert "cannot be downloaded" in result.stderr and "--weights none" in result.stderr
