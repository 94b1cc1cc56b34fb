"""Which compiled model a Spark worker may reuse: the same run and set-up, whatever the epoch's learning rate."""

from engine.ml.elephas_worker import _model_key

ADAMW = {"class_name": "AdamW", "config": {"learning_rate": 0.001, "weight_decay": 1e-4}}
MODEL = '{"class_name": "Functional", "config": {"layers": []}, "compile_config": {"optimizer": {"learning_rate": 0.001}}}'
OTHER = '{"class_name": "Functional", "config": {"layers": [{"class_name": "Dense"}]}}'


def test_a_new_learning_rate_keeps_the_model():
    lower = {**ADAMW, "config": {**ADAMW["config"], "learning_rate": 0.0005}}
    recompiled = MODEL.replace("0.001", "0.0005")  # Keras repeats the optimizer in the model JSON
    assert _model_key("run", MODEL, ADAMW) == _model_key("run", recompiled, lower)


def test_another_run_architecture_or_optimizer_setting_gets_a_new_model():
    key = _model_key("run", MODEL, ADAMW)
    assert key != _model_key("other-run", MODEL, ADAMW)
    assert key != _model_key("run", OTHER, ADAMW)
    assert key != _model_key("run", MODEL, {**ADAMW, "config": {**ADAMW["config"], "weight_decay": 0.0}})
