"""Typed job requests: each one's command line parses with the real CLI back to the same values, and the
engine finds jobs by kind and dataset, not by argument position."""

import dataclasses

import pytest

from engine.cli.main import build_parser
from engine.errors import InputError
from engine.jobs import requests as rq
from engine.ml.config import TrainConfig


def parse(request: rq.Request):
    return build_parser().parse_args(request.argv())


def test_train_request_round_trips_through_the_cli():
    config = TrainConfig(
        dataset="kaggle-train",
        arch="resnet50",
        mode="synchronous",
        workers=2,
        epochs=7,
        batch_size=16,
        size=96,
        learning_rate=1e-3,
        label_smoothing=0.1,
        freeze_epochs=2,
        unfreeze=0.5,
        finetune_learning_rate=5e-5,
        seed=7,
        augmentation="wide",
    )
    args = parse(rq.TrainRequest(config))
    assert TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}) == config
    assert rq.describe(rq.TrainRequest(config).argv()) == ("train", "kaggle-train")


def test_default_train_request_is_short_and_the_parser_defaults_are_the_dataclass_defaults():
    assert rq.TrainRequest(TrainConfig(dataset="sample")).argv() == ["train", "sample"]
    args = build_parser().parse_args(["train", "sample"])
    assert TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}) == TrainConfig(dataset="sample")


def test_resume_request():
    r = rq.TrainRequest(TrainConfig(dataset="sample"), resume="compact-sample-20261201-120000")
    assert parse(r).resume == "compact-sample-20261201-120000" and r.title().startswith("Resume")


@pytest.mark.parametrize(
    "request_",
    [
        rq.PreprocessRequest("sample", 64, 2, "spark-rdd"),
        rq.PreprocessRequest("sample", master="spark://127.0.0.1:7077"),
        rq.IngestRequest("hospital-a", source="/tmp/up.zip", remove_source=True),
        rq.FetchRequest(),
        rq.StatsRequest("sample"),
        rq.AuditRequest("sample"),
        rq.PreprocessBenchmarkRequest("sample", 2, (1, 2)),
        rq.AdaptBenchmarkRequest("sample", (10, 25), 5),
        rq.CrossValidationRequest("sample", folds=3, epochs=2),
        rq.CrossValidationRequest("sample"),
        rq.EvaluateRequest("sample"),
        rq.EvaluateRequest("/tmp/up.zip", remove_source=True),
        rq.DemoRequest(),
    ],
)
def test_every_request_parses_and_describes_itself(request_):
    args = parse(request_)
    assert args.handler is not None
    assert rq.describe(request_.argv()) == (request_.kind, request_.dataset)
    assert "/tmp" not in request_.title(), "titles are shown to every session: no paths"


def test_preprocess_request_fields_reach_the_parser():
    args = parse(rq.PreprocessRequest("sample", 64, 2, "spark-rdd"))
    assert (args.dataset, args.size, args.workers, args.method, args.master) == ("sample", 64, 2, "spark-rdd", None)


def test_parse_counts():
    assert rq.parse_counts("4, 1,2,2", "--workers") == (1, 2, 4)
    for bad in ("", "0", "a,b", "1,-2"):
        with pytest.raises(InputError, match="--workers"):
            rq.parse_counts(bad, "--workers")
