"""Typed job requests: what a page asks the engine to run. The engine owns the mapping from a request to its
command line (``argv``) and back (``describe``: the kind and dataset of any engine command line), so pages
never build argument lists or find jobs by argument position; defaults and choices come from the config
dataclasses and enums they mirror."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from engine.data.pixels import DEFAULT_SIZE
from engine.data.preprocess import Method
from engine.errors import InputError
from engine.ml.config import TrainConfig

SPARK_METHODS = (Method.SPARK_ARROW, Method.SPARK_RDD)  # what `preprocess --method` accepts, default first


@dataclasses.dataclass(frozen=True)
class Request:
    """A job the engine can run; ``kind`` and ``dataset`` are how pages find it again."""

    kind: ClassVar[str] = ""

    @property
    def dataset(self) -> str | None:
        return None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def title(self) -> str:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class DatasetRequest(Request):
    """A request about one dataset, named ``name``."""

    name: str

    @property
    def dataset(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True)
class PreprocessRequest(DatasetRequest):
    kind: ClassVar[str] = "preprocess"
    size: int = DEFAULT_SIZE
    workers: int | None = None  # local[K]; None: the settings' master
    method: str = Method.SPARK_ARROW
    master: str | None = None  # a spark:// URL instead of local[K]

    def argv(self) -> list[str]:
        argv = ["preprocess", self.name, "--size", str(self.size), "--method", str(self.method)]
        if self.master:
            return [*argv, "--master", self.master]
        return argv + (["--workers", str(self.workers)] if self.workers else [])

    def title(self) -> str:
        return f"Preprocess {self.name} at {self.size} px"


@dataclasses.dataclass(frozen=True)
class TrainRequest(Request):
    kind: ClassVar[str] = "train"
    config: TrainConfig
    resume: str | None = None  # a run id: continue it (its saved config wins)

    @property
    def dataset(self) -> str:
        return self.config.dataset

    def argv(self) -> list[str]:
        if self.resume:
            return ["train", self.config.dataset, "--resume", self.resume]
        argv = ["train", self.config.dataset]
        for field in dataclasses.fields(TrainConfig)[1:]:
            value = getattr(self.config, field.name)
            if value != field.default and value not in (None, ""):
                argv += [train_flag(field.name), str(value)]
        return argv

    def title(self) -> str:
        if self.resume:
            return f"Resume {self.resume}"
        c = self.config
        return f"Adapt {c.init_from} to {c.dataset}" if c.init_from else f"Train {c.arch} on {c.dataset} ({c.mode})"


def train_flag(field: str) -> str:
    """The `train` option of a TrainConfig field: ``batch_size`` -> ``--batch-size``."""
    return "--" + field.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class IngestRequest(DatasetRequest):
    kind: ClassVar[str] = "dataset-ingest"
    source: str  # a class-folder tree or a .zip on this machine
    remove_source: bool = False  # an uploaded zip the job deletes afterwards, whatever the outcome

    def argv(self) -> list[str]:
        return ["dataset", "ingest", self.source, "--name", self.name] + (["--remove-source"] if self.remove_source else [])

    def title(self) -> str:  # never the source path: titles are shown to every session
        return f"Ingest an uploaded zip → {self.name}" if self.remove_source else f"Ingest a folder → {self.name}"


@dataclasses.dataclass(frozen=True)
class FetchRequest(Request):
    kind: ClassVar[str] = "dataset-fetch"

    def argv(self) -> list[str]:
        return ["dataset", "fetch"]

    def title(self) -> str:
        return "Download the Kaggle dataset"


@dataclasses.dataclass(frozen=True)
class StatsRequest(DatasetRequest):
    kind: ClassVar[str] = "dataset-stats"

    def argv(self) -> list[str]:
        return ["dataset", "stats", self.name, "--refresh"]

    def title(self) -> str:
        return f"Statistics of {self.name}"


@dataclasses.dataclass(frozen=True)
class AuditRequest(DatasetRequest):
    kind: ClassVar[str] = "dataset-audit"

    def argv(self) -> list[str]:
        return ["dataset", "audit", self.name]

    def title(self) -> str:
        return f"Audit of {self.name}"


@dataclasses.dataclass(frozen=True)
class PreprocessBenchmarkRequest(DatasetRequest):
    kind: ClassVar[str] = "benchmark-preprocess"
    repeat: int = 3
    workers: tuple[int, ...] = ()  # worker counts; () = 1..cores

    def argv(self) -> list[str]:
        argv = ["benchmark", "preprocess", self.name, "--repeat", str(self.repeat)]
        return argv + (["--workers", ",".join(map(str, self.workers))] if self.workers else [])

    def title(self) -> str:
        return f"Benchmark {self.name}"


@dataclasses.dataclass(frozen=True)
class AdaptBenchmarkRequest(DatasetRequest):
    kind: ClassVar[str] = "benchmark-adapt"
    per_class: tuple[int, ...] = (10, 25, 50, 100)
    epochs: int = 20

    def argv(self) -> list[str]:
        return ["benchmark", "adapt", self.name, "--per-class", ",".join(map(str, self.per_class)), "--epochs", str(self.epochs)]

    def title(self) -> str:
        return f"What transfer buys on {self.name}"


@dataclasses.dataclass(frozen=True)
class CrossValidationRequest(DatasetRequest):
    kind: ClassVar[str] = "benchmark-cv"
    folds: int = 5
    epochs: int = 0  # 0: the recipe's default
    size: int = 128

    def argv(self) -> list[str]:
        argv = ["benchmark", "cv", self.name, "--folds", str(self.folds), "--size", str(self.size)]
        return argv + (["--epochs", str(self.epochs)] if self.epochs else [])

    def title(self) -> str:
        return f"Cross-validate {self.name} ({self.folds} folds)"


@dataclasses.dataclass(frozen=True)
class RefusalRequest(Request):
    """`benchmark refusal`: what the gate refuses of images that are not brain MRI, and of real scans under shifts."""

    kind: ClassVar[str] = "benchmark-refusal"
    model: str = ""  # "" = the default model

    def argv(self) -> list[str]:
        return ["benchmark", "refusal"] + (["--model", self.model] if self.model else [])

    def title(self) -> str:
        return "Measure what the gate refuses"


@dataclasses.dataclass(frozen=True)
class EvaluateRequest(Request):
    """A model measured on a hospital's own labelled scans: an HDFS dataset, or an uploaded zip of class folders."""

    kind: ClassVar[str] = "evaluate"
    data: str  # a dataset name, or the path of an uploaded zip
    model: str = ""  # "" = the default model
    remove_source: bool = False  # ``data`` is an uploaded zip the job deletes afterwards, whatever the outcome

    def argv(self) -> list[str]:
        argv = ["evaluate", "--data", self.data] + (["--model", self.model] if self.model else [])
        return argv + (["--remove-source"] if self.remove_source else [])

    def title(self) -> str:  # never the upload's path: titles are shown to every session
        return "Validate on uploaded scans" if self.remove_source else f"Validate on dataset {self.data}"


@dataclasses.dataclass(frozen=True)
class DemoRequest(Request):
    kind: ClassVar[str] = "demo"

    def argv(self) -> list[str]:
        return ["demo"]

    def title(self) -> str:
        return "Demo mode"


GROUPED_COMMANDS = ("dataset", "benchmark", "cluster", "hdfs", "models", "jobs", "spark")  # `mri GROUP ACTION ...`


def describe(argv: list[str]) -> tuple[str, str | None]:
    """(kind, dataset) of an engine command line, for jobs started from any door (a page, `jobs start`)."""
    if not argv:
        return "", None
    grouped = argv[0] in GROUPED_COMMANDS and len(argv) > 1
    kind = f"{argv[0]}-{argv[1]}" if grouped else argv[0]
    if kind == "dataset-ingest":
        return kind, argv[argv.index("--name") + 1] if "--name" in argv[:-1] else None
    rest = argv[2:] if grouped else argv[1:]
    first = rest[0] if rest and not rest[0].startswith("-") else None
    takes_dataset = kind in ("preprocess", "train") or kind in ("dataset-stats", "dataset-audit") or kind.startswith("benchmark-")
    return kind, first if takes_dataset else None


def parse_counts(text: str, option: str) -> tuple[int, ...]:
    """``"1,2,4"`` -> (1, 2, 4), sorted and unique; a clear InputError naming ``option`` otherwise."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise InputError(f"{option} {text!r} must be a comma-separated list of whole numbers of at least 1, e.g. 1,2.")
    return tuple(sorted(set(values)))
