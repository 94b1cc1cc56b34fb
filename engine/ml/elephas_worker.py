"""Elephas synchronous training whose Spark workers keep their compiled model from one epoch to the next.

Elephas' ``SparkWorker`` rebuilds the model from JSON, compiles it and lets Keras trace a new train step on
every ``fit()`` call, and the engine calls ``fit()`` once per epoch (to report and checkpoint each epoch).
Spark reuses its Python worker processes between stages, so each process can keep the model it compiled:
later epochs only load the averaged weights and that epoch's learning rate. The worker's optimizer state
(AdamW moments) then also carries over between epochs, as it does in plain Keras, instead of restarting.

Runs on the Spark workers (``ReusingSparkWorker.train``) and on the driver (``ReusingSparkModel._fit``).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from itertools import tee

import numpy as np
from elephas.spark_model import SparkModel
from elephas.utils import average_and_subtract, subtract_params
from elephas.worker import SparkWorker

from engine.data.executor import maybe_die_once

# One per Python worker process: {model key: compiled Keras model}. Only the current run's model is kept.
_COMPILED: dict[str, object] = {}


def _model_key(run_token: str, model_json: str, optimizer: dict) -> str:
    """Same run, architecture and optimizer (bar its learning rate) -> the same compiled model.

    The model JSON's ``compile_config`` is left out (it repeats the optimizer, learning rate included), and
    so are loss and metrics: they are fixed within a run, and arrive as objects whose repr differs per task.
    """
    architecture = {k: v for k, v in json.loads(model_json).items() if k != "compile_config"}
    config = {k: v for k, v in optimizer.get("config", {}).items() if k != "learning_rate"}
    text = json.dumps([run_token, architecture, optimizer.get("class_name"), config], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ReusingSparkWorker(SparkWorker):
    """Elephas' synchronous worker, with the compiled model kept in the worker process between epochs."""

    def __init__(self, *args, run_token: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_token = run_token

    def _compiled_model(self):
        from tensorflow.keras.models import model_from_json
        from tensorflow.keras.optimizers import deserialize as deserialize_optimizer

        key = _model_key(self.run_token, self.json, self.master_optimizer)
        model = _COMPILED.get(key)
        reused = model is not None
        if not reused:
            _COMPILED.clear()  # a model of an earlier run in this process is of no further use
            model = model_from_json(self.json, self.custom_objects)
            model.compile(optimizer=deserialize_optimizer(self.master_optimizer), loss=self.master_loss, metrics=self.master_metrics)
            _COMPILED[key] = model
        else:
            learning_rate = self.master_optimizer.get("config", {}).get("learning_rate")
            if isinstance(learning_rate, (int, float)):
                model.optimizer.learning_rate.assign(learning_rate)
        return model, reused

    def train(self, data_iterator):
        t0 = time.perf_counter()
        self.model, reused = self._compiled_model()
        self.model.set_weights(self.parameters.value)
        t1 = time.perf_counter()
        features, labels = tee(data_iterator, 2)
        x_train = np.asarray([x for x, _ in features])
        y_train = np.asarray([y for _, y in labels])
        t2 = time.perf_counter()
        maybe_die_once()  # fault injection for tests: a worker lost mid-epoch, which Spark must retry
        before = self.model.get_weights()
        history = None
        if x_train.shape[0] > self.train_config.get("batch_size"):
            history = self.model.fit(x_train, y_train, **self.train_config).history
        t3 = time.perf_counter()
        deltas = subtract_params(before, self.model.get_weights())
        timing = {"model_reused": reused, "prepare_model": round(t1 - t0, 3), "read_partition": round(t2 - t1, 3), "fit": round(t3 - t2, 3)}
        yield [deltas, {**(history or {}), "timing": timing}]


class ReusingSparkModel(SparkModel):
    """Elephas' ``SparkModel`` with :class:`ReusingSparkWorker` workers; otherwise Elephas' synchronous fit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_token = uuid.uuid4().hex  # a new model per training run, even in a reused worker process

    def _fit(self, rdd, **kwargs):
        from tensorflow.keras.optimizers import serialize as serialize_optimizer

        self._master_network.compile(optimizer=self.master_optimizer, loss=self.master_loss, metrics=self.master_metrics)
        train_config = {**kwargs, "epochs": 1}
        epochs = kwargs.get("epochs", 1)
        optimizer = serialize_optimizer(self.master_optimizer)
        model_json = self._master_network.to_json()
        parameters = rdd.context.broadcast(self._master_network.get_weights())
        for _ in range(epochs):
            try:
                worker = ReusingSparkWorker(
                    model_json, parameters, train_config, optimizer, self.master_loss, self.master_metrics, self.custom_objects, run_token=self.run_token
                )
                outcomes = rdd.mapPartitions(worker.train).collect()
                self.training_histories.extend(history for _, history in outcomes)
                new_parameters = average_and_subtract(parameters.value, [deltas for deltas, _ in outcomes])
            finally:
                parameters.destroy()
            parameters = rdd.context.broadcast(new_parameters)
        self._master_network.set_weights(parameters.value)
        parameters.destroy()
