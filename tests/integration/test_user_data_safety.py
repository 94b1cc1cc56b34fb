"""What the engine must never do to a user's own data: demo clean-up of models it did not make, model ids that
name paths outside the registry, model files that do not match their card."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.bench.demo_steps import remove_old_demo_models
from engine.errors import InputError
from engine.ml import registry
from engine.ml.inference import LoadedModel

USER_DATASETS = ("demo-x", "x-demo", "a-demo-b")


def _model(storage, settings, model_id: str, dataset: str) -> None:
    card = json.dumps({"model_id": model_id, "training": {"dataset": dataset}}).encode()
    storage.write(f"{registry.models_root()}/{model_id}/card.json", card, overwrite=True)
    local = settings.run_dir / "models" / model_id
    local.mkdir(parents=True, exist_ok=True)
    (local / "card.json").write_bytes(card)
    run = settings.run_dir / "training" / model_id
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps({"dataset": dataset}))


def test_demo_removes_only_the_models_it_made(storage, settings):
    users = {f"compact-{d}-20261201-120000": d for d in USER_DATASETS}
    users["compact-demo-20261201-130000"] = "x"  # the demo's id pattern, but a user's dataset in its card
    ours = "compact-demo-20261201-140000"
    for model_id, dataset in {**users, ours: "demo"}.items():
        _model(storage, settings, model_id, dataset)
    try:
        remove_old_demo_models(settings, storage)
        for model_id in users:
            assert storage.exists(f"{registry.models_root()}/{model_id}/card.json"), model_id
            assert (settings.run_dir / "models" / model_id).is_dir() and (settings.run_dir / "training" / model_id).is_dir()
        assert not storage.exists(f"{registry.models_root()}/{ours}")
        assert not (settings.run_dir / "models" / ours).exists() and not (settings.run_dir / "training" / ours).exists()
    finally:
        for model_id in users:
            storage.delete(f"{registry.models_root()}/{model_id}", recursive=True)
            shutil.rmtree(settings.run_dir / "models" / model_id, ignore_errors=True)
            shutil.rmtree(settings.run_dir / "training" / model_id, ignore_errors=True)


def test_model_ids_come_from_folder_names_and_never_name_a_path(storage, settings):
    folder = f"{registry.models_root()}/honest-name-20261201-120000"
    storage.write(f"{folder}/card.json", json.dumps({"model_id": "../../outside", "validation": {}}).encode(), overwrite=True)
    try:
        ids = [c["model_id"] for c in registry.list_models(settings, storage)]
        assert "honest-name-20261201-120000" in ids and "../../outside" not in ids
        for bad in ("../../x", "a/b", "..", ".hidden", "x y"):
            with pytest.raises(InputError, match="not a model id"):
                registry.fetch(settings, storage, bad)
            with pytest.raises(InputError, match="not a model id"):
                registry.promote(settings, storage, bad)
        assert not (settings.run_dir.parent / "x").exists()
    finally:
        storage.delete(folder, recursive=True)


def test_a_model_file_that_does_not_match_its_card_is_not_loaded(tmp_path):
    shipped = registry.shipped_models()[-1]
    copy = tmp_path / "copy"
    shutil.copytree(shipped, copy)
    LoadedModel(copy)  # the shipped model is sealed and loads
    with open(copy / "model.keras", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(InputError, match="does not match its card"):
        LoadedModel(copy)
    card = json.loads((copy / "card.json").read_text())
    del card["model_sha256"]
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="no SHA-256"):
        LoadedModel(copy)
