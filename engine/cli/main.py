"""The command line, ``python -m engine``: the same operations the dashboard offers.

Every command prints a readable summary, or with ``--json`` exactly one JSON
object on stdout. Exit codes: 0 success, 2 bad usage or bad input, 1 any
other failure; the message on stderr says what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from engine.cli import dataset
from engine.errors import EngineError, InputError
from engine.hdfs import cluster, probes
from engine.hdfs.storage import Storage
from engine.jobs import store as jobs
from engine.progress import EventFile, TerminalBar, fan_out, no_progress
from engine.settings import Settings, get_settings
from engine.textutil import human_bytes

logger = logging.getLogger("engine")


# ---------------------------------------------------------------------- commands
# Each returns (json_object, human_text).
def cmd_cluster(args, settings: Settings, progress) -> tuple[dict, str]:
    say = lambda msg: progress(0, None, msg)  # noqa: E731
    if args.action == "up":
        if not settings.hdfs_managed:
            status = probes.cluster_status(settings)
            return {"started": [], "managed": False, **status}, f"Using the existing cluster at {settings.namenode_http}; nothing to start."
        result = cluster.cluster_up(settings, on_progress=say)
        if result["started"]:
            text = f"HDFS is up at {settings.namenode_http} ({', '.join(result['started'])} started in {result['seconds']:.1f} s)."
        else:
            text = f"HDFS is already running at {settings.namenode_http}."
        return result, text
    if args.action == "down":
        result = cluster.cluster_down(settings, on_progress=say)
        return result, ("Stopped " + ", ".join(result["stopped"]) + ".") if result["stopped"] else "No local HDFS daemon was running."
    if args.action in ("stop-node", "start-node"):
        if not args.name:
            raise_usage(f"cluster {args.action} needs a daemon name, e.g. datanode2.")
        fn = cluster.stop_daemon if args.action == "stop-node" else cluster.start_daemon
        changed = fn(settings, args.name)
        verb = "stopped" if args.action == "stop-node" else "started"
        return {
            "name": args.name,
            verb: changed,
        }, f"{args.name} {verb}." if changed else f"{args.name} was already {'stopped' if verb == 'stopped' else 'running'}."
    status = probes.cluster_status(settings)
    nn = status["namenode"]
    lines = [f"NameNode {nn['url']}: {'live' if nn['live'] else 'NOT ANSWERING'}" + (" (safe mode)" if nn.get("safemode") else "")]
    for dn in status["datanodes"]:
        lines.append(
            f"  {dn['name']:<10} {dn['host']:<16} {'live' if dn['live'] else 'DEAD':<5} "
            f"used {human_bytes(dn['used_bytes'])} of {human_bytes(dn['capacity_bytes'])}, blocks {dn.get('blocks')}"
        )
    return status, "\n".join(lines)


def cmd_hdfs(args, settings: Settings, progress) -> tuple[dict, str]:
    storage = Storage(settings)
    if args.action == "ls":
        entries = storage.list(args.path)
        lines = [f"{'d' if e['type'] == 'directory' else '-'} {e['replication'] or '-':>2} {human_bytes(e['length']):>10}  {e['path']}" for e in entries]
        return {"path": args.path, "entries": entries}, "\n".join(lines) or f"{args.path} is empty."
    info = storage.blocks(args.path)
    lines = [
        f"{info['path']}: {human_bytes(info['length'])} in {len(info['blocks'])} block(s) of up to "
        f"{human_bytes(info['block_size'])}, replication {info['replication']}"
    ]
    for b in info["blocks"]:
        lines.append(f"  blk_{b['block_id']}  offset {b['offset']:>10}  {human_bytes(b['length']):>10}  on {', '.join(b['hosts'])}")
    return info, "\n".join(lines)


def cmd_jobs(args, settings: Settings, progress) -> tuple[dict, str]:
    if args.action == "list":
        found = jobs.list_jobs(settings)
        lines = [f"{j.id:<40} {j.status:<10} {j.title}" for j in found]
        return {"jobs": [j.to_dict() for j in found]}, "\n".join(lines) or "No jobs yet."
    if args.action == "start":
        if not args.command:
            raise_usage("jobs start needs a command, e.g. `python -m engine jobs start -- sleep 5`.")
        build_parser().parse_args(args.command)  # reject an unknown command now, not in the background
        job = jobs.submit_job(settings, args.command)
        return job.to_dict(), f"Started job {job.id}."
    if not args.id:
        raise_usage(f"jobs {args.action} needs a job id; `python -m engine jobs list` shows them.")
    job = jobs.cancel_job(settings, args.id) if args.action == "cancel" else jobs.get_job(settings, args.id)
    text = f"{job.id}: {job.status}" + (f" — {job.error}" if job.error else "")
    if job.progress:
        text += f"\n  last progress: {job.progress.get('done')}/{job.progress.get('total')} {job.progress.get('message', '')}"
    return job.to_dict(), text


def cmd_preprocess(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.data.preprocess import preprocess_dataset

    if args.workers is not None and args.workers < 1:
        raise_usage("--workers must be at least 1.")
    r = preprocess_dataset(
        settings, Storage(settings), args.dataset, size=args.size, workers=args.workers, method=args.method, master=args.master, on_progress=progress
    )
    text = (
        f"Prepared {r['images']} images of {r['dataset']} at {r['size']} px with {r['method']} on {r['master']} "
        f"in {r['seconds']:.1f} s -> {r['output']} ({r['files']} files, {human_bytes(r['bytes'])}, {r['blocks']} blocks)"
    )
    for f in r["failed"][:10]:
        text += f"\n  unreadable: {f['path']}: {f['reason']}"
    return r, text


def cmd_train(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.ml.config import TrainConfig
    from engine.ml.training import train

    config = TrainConfig(
        dataset=args.dataset,
        arch=args.arch,
        mode=args.mode,
        workers=args.workers,
        epochs=args.epochs,
        batch_size=args.batch_size,
        size=args.size,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        frequency=args.frequency,
        weights=args.weights,
        seed=args.seed,
        limit=args.limit,
        threads=args.threads,
        freeze_epochs=args.freeze_epochs,
        unfreeze=args.unfreeze,
        finetune_learning_rate=args.finetune_learning_rate,
        init_from=args.init_from or "",
    )
    card = train(settings, Storage(settings), config, resume=args.resume, on_progress=progress)
    v = card["validation"]
    text = (
        f"Model {card['model_id']}: validation accuracy {v['accuracy']:.4f} "
        f"(95% CI {v['accuracy_ci95'][0]:.3f}-{v['accuracy_ci95'][1]:.3f}, n={v['n']}), macro F1 {v['macro_f1']:.4f}, "
        f"glioma recall {v['per_class']['glioma']['recall']:.3f}, ECE {v['ece']:.3f}; "
        f"trained in {card['training']['seconds']:.0f} s, registered in /mri/models/{card['model_id']}/"
    )
    return card, text


class PartialFailure(EngineError):
    """Some inputs were unusable: exit 2, but the result (with the other answers) is still printed."""

    exit_code = 2

    def __init__(self, message: str, result: dict, text: str):
        super().__init__(message)
        self.result, self.text = result, text


def cmd_classify(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.clinic.classify import Classifier, log_answers, read_uploads
    from engine.clinic.gradcam import overlay
    from engine.clinic.report import report_pdf
    from engine.ml import registry
    from engine.png import png_bytes

    storage = Storage(settings)
    # Decode and screen first: hostile or unreadable files are answered without loading TensorFlow at all.
    answers = read_uploads([(str(path), read_upload(path)) for path in args.files], frame=args.frame)
    folder = registry.fetch(settings, storage, args.model)
    card = registry.read_card(folder)
    if any(a.grey is not None and not a.rejected for a in answers):
        from engine.ml.inference import load_model

        classifier = Classifier(load_model(settings, storage, args.model))
        card = classifier.loaded.card
        answers = classifier.answer(answers, log=settings, source="cli")
    else:
        log_answers(settings, answers, card["model_id"], "cli")
    if args.explain:
        args.explain.mkdir(parents=True, exist_ok=True)
        for a in answers:
            stem = a.sha256[:16]
            if a.cam is not None and a.grey is not None:
                (args.explain / f"{stem}-gradcam.png").write_bytes(png_bytes(overlay(a.grey, a.cam)))
            if not a.rejected:  # a refusal gets no report: there is no answer to report
                (args.explain / f"{stem}-report.pdf").write_bytes(report_pdf(a, card))
    result = {
        "results": [a.to_json() for a in answers],
        "model": {
            "id": card["model_id"],
            "architecture": card["architecture"],
            "validation_accuracy": card["validation"]["accuracy"],
            "temperature": float(card.get("temperature", 1.0)),
        },
    }
    lines = []
    for a in answers:
        if a.rejected:
            lines.append(f"{a.file}: REFUSED — {a.reason}")
        else:
            top = a.probabilities[a.label]
            lines.append(f"{a.file}: {a.label} ({top:.1%})" + (" — UNCERTAIN, review needed" if a.uncertain else ""))
    text = "\n".join(lines)
    bad = [a for a in answers if a.bad_input]
    if bad:
        raise PartialFailure(f"{len(bad)} of {len(answers)} file(s) could not be read: " + "; ".join(f"{a.file}: {a.reason}" for a in bad), result, text)
    return result, text


def read_upload(path: Path) -> bytes | InputError:
    """A file's bytes, or the reason it is not read (missing, not a file, larger than one scan can be)."""
    from engine.data.image_checks import MAX_FILE_BYTES

    try:
        if not path.is_file():
            return InputError("the file does not exist or is not a regular file.")  # no name: reasons are audit-logged
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return InputError(f"the file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit for one scan (not read).")
        with open(path, "rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return InputError(f"the file cannot be read ({err.strerror or type(err).__name__}).")


def cmd_evaluate(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.ml.evaluate import evaluate_model

    r = evaluate_model(settings, Storage(settings), args.model, args.data, args.train_manifest, on_progress=progress)
    lines = [
        f"{r['model']} on {r['data']}: accuracy {r['accuracy']:.4f} (95% CI {r['accuracy_ci95'][0]:.3f}-"
        f"{r['accuracy_ci95'][1]:.3f}, n={r['n']}), macro F1 {r['macro_f1']:.4f}, ECE {r['ece']:.3f}"
    ]
    for cls, m in r["per_class"].items():
        lines.append(f"  {cls:<11} precision {m['precision']:.3f} recall {m['recall']:.3f} f1 {m['f1']:.3f} support {m['support']}")
    if "leak_free" in r:
        lf = r["leak_free"]
        lines.append(
            f"  leak-free (no duplicate in {lf['train_manifest']}): accuracy {lf['accuracy']:.4f} on {lf['n']} images "
            f"({lf['excluded_duplicates_of_training']} excluded)"
        )
    return r, "\n".join(lines)


def cmd_models(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.ml import registry

    storage = Storage(settings)
    if args.action in ("promote", "ood", "ship", "seal") and not args.model_id:
        raise_usage(f"models {args.action} needs a model id.")
    if args.action == "ood":
        from engine.ml.ood import fit_model_ood

        r = fit_model_ood(settings, storage, args.model_id)
        return r, f"{args.model_id}: refusal threshold {r['threshold']:.2f} (held-out median {r['heldout_median']:.2f})."
    if args.action == "ship":
        target = registry.ship(settings, storage, args.model_id)
        return {"shipped": str(target)}, f"Copied {args.model_id} to {target} (commit it to make it the default)."
    if args.action == "seal":
        folder = registry.fetch(settings, storage, registry.check_model_id(args.model_id))
        card = registry.seal(folder)
        hdfs_card = f"{registry.models_root()}/{args.model_id}/card.json"
        if storage.exists(hdfs_card):
            storage.write(hdfs_card, (folder / "card.json").read_bytes(), overwrite=True)
        return (
            {"model_id": args.model_id, "model_sha256": card["model_sha256"]},
            f"{args.model_id}: its card now records SHA-256 {card['model_sha256']}; only this exact file will load.",
        )
    if args.action == "promote":
        registry.promote(settings, storage, args.model_id)
        return {"default": args.model_id}, f"{args.model_id} is now the default model."
    cards = registry.list_models(settings, storage)
    lines = [
        f"{'*' if c['default'] else ' '} {c['model_id']:<45} {c['source']:<8} val acc {c['validation']['accuracy']:.4f} (n={c['validation']['n']})"
        for c in cards
    ]
    return {"models": cards}, "\n".join(lines) or "No models yet."


def _worker_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise_usage(f"--workers {text!r} must be a comma-separated list of whole numbers, e.g. 1,2.")
    if not values or min(values) < 1:
        raise_usage("--workers needs numbers of at least 1.")
    return values


def cmd_benchmark(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.read import benchmark_read

    if args.repeat < 1:
        raise_usage("--repeat must be at least 1.")
    if args.kind in ("classify", "refusal"):
        from engine.bench.classify import benchmark_refusal, benchmark_speed

        if args.kind == "classify":
            r = benchmark_speed(settings, Storage(settings), args.model)
            return r, (
                f"{r['model']}: one scan (classification + Grad-CAM) p50 {r['single_ms_p50']} ms, p95 {r['single_ms_p95']} ms "
                f"over {r['repeats']}; a batch of 100 in {r['batch_100_s']} s; cold start to first answer {r['cold_start_s']} s "
                f"({r['cold_start_with_interpreter_s']} s with the interpreter start)"
            )
        r = benchmark_refusal(settings, Storage(settings), args.model)
        lines = [
            f"{r['model']}: refused {r['non_mri_refused']} of {r['non_mri']} non-MRI images ({r['non_mri_refused_share']:.1%}); "
            f"falsely refused {r['real_falsely_refused']} of {r['real_scans']} real scans ({r['real_falsely_refused_share']:.1%}, "
            f"{r['real_from']})"
        ]
        lines += [f"  {k:<10} refused {v['refused']}/{v['n']}" for k, v in r["by_kind"].items()]
        return r, "\n".join(lines)
    if not args.dataset:
        raise_usage(f"benchmark {args.kind} needs a dataset name.")
    if args.kind == "adapt":
        from engine.cli.adapt import cmd_adapt

        return cmd_adapt(args, settings, progress)
    if args.kind == "train":
        from engine.bench.train import DEFAULT_MODES, benchmark_train
        from engine.ml.config import TrainingMode

        modes = tuple(m.strip() for m in args.modes.split(",") if m.strip()) if args.modes else DEFAULT_MODES
        unknown = [m for m in modes if m not in set(TrainingMode)]
        if unknown:
            raise_usage(f"--modes {','.join(unknown)} is unknown; use {', '.join(TrainingMode)}.")
        r = benchmark_train(
            settings,
            Storage(settings),
            args.dataset,
            workers=_worker_list(args.workers),
            epochs=args.epochs or 3,
            modes=modes,
            limit=args.limit,
            on_progress=progress,
        )
        lines = [
            f"Training {r['dataset']} for {r['epochs']} epochs per run (median seconds per epoch):",
            f"  {'method':<24} {'workers':>7} {'s/epoch':>8} {'img/s':>7} {'vs keras':>8} {'val acc':>8}",
        ]
        for x in r["runs"]:
            lines.append(
                f"  {x['method']:<24} {x['workers']:>7} {x['seconds_median']:>8.1f} {x['images_per_second']:>7.1f} "
                f"{x['time_vs_keras'] or 0:>8.2f} {x['val_accuracy']:>8.3f}"
                + (
                    f"   workers fit {x['worker_fit_seconds_median']:.1f} s, set-up {x['worker_setup_seconds_median']:.1f} s, "
                    f"driver {x['driver_seconds_median']:.1f} s"
                    if "worker_fit_seconds_median" in x
                    else ""
                )
            )
        return r, "\n".join(lines)
    if args.kind == "preprocess":
        from engine.bench.preprocess import benchmark_preprocess

        r = benchmark_preprocess(
            settings, Storage(settings), args.dataset, workers=_worker_list(args.workers), repeat=args.repeat, size=args.size, on_progress=progress
        )
        lines = [
            f"Preprocessing {r['images']} images of {r['dataset']} at {r['size']} px on {r['cores']} cores "
            f"(median of {r['repeat']}; Spark session start not counted):",
            f"  {'method':<12} {'input':<7} {'workers':>7} {'seconds':>8} {'read':>6} {'compute':>8} {'write':>6} {'session':>8}",
        ]
        for run in r["runs"]:
            b = run["breakdown"]
            lines.append(
                f"  {run['method']:<12} {run['input']:<7} {run['workers']:>7} {run['seconds_median']:>8.2f} "
                f"{b.get('read', 0):>6.2f} {b.get('compute', 0):>8.2f} {b.get('write', 0):>6.2f} {b.get('session_start', 0):>8.2f}"
            )
        a = r["amdahl"]
        if a.get("serial_fraction") is not None:
            lines.append(
                f"  Amdahl fit ({a['fitted_on']}): serial fraction {a['serial_fraction']:.3f} "
                f"(95% CI {a['serial_fraction_ci95'][0]:.3f}-{a['serial_fraction_ci95'][1]:.3f})"
            )
        return r, "\n".join(lines)
    result = benchmark_read(settings, Storage(settings), args.dataset, repeat=args.repeat, master=args.master, on_progress=progress)
    lines = [
        f"Reading {result['images']} images ({human_bytes(result['bytes'])}) of {result['dataset']} through Spark "
        f"({result['master']}), median of {result['repeat']}:",
        f"  {'input':<8} {'seconds':>8} {'partitions':>10}  all runs",
    ]
    for r in result["runs"]:
        lines.append(f"  {r['input']:<8} {r['seconds_median']:>8.2f} {r['partitions']:>10}  {r['seconds_all']}")
    lines.append(f"  packed is {result['packed_speedup']}x faster than one file per scan")
    return result, "\n".join(lines)


def cmd_spark(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.spark import standalone as spark_cluster

    if args.action == "up":
        r = spark_cluster.start(settings, args.workers)
        return r, f"Spark standalone master {r['url']} with {r['alive_workers']} workers; UI {r['ui']}. Use --master {r['url']}."
    if args.action == "down":
        stopped = spark_cluster.stop(settings)
        return {"stopped": stopped}, ("Stopped " + ", ".join(stopped)) if stopped else "No standalone Spark was running."
    r = spark_cluster.status(settings)
    return r, (f"{r['url']}: {r['alive_workers']} workers, {r['cores']} cores" if r["running"] else "No standalone Spark is running.")


def cmd_demo(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.demo import run_demo

    state = run_demo(settings, Storage(settings), on_progress=progress)
    lines = [f"Demo finished in {state['seconds']:.0f} s (budget {state['budget_s']:.0f} s):"]
    lines += [f"  {s['title']:<30} {s['seconds']:>6.1f} s" for s in state["steps"]]
    answer = state["steps"][-1]["result"]
    lines.append(f"  classified {answer['file']} ({answer['true_class']}) as {answer['label']}")
    return state, "\n".join(lines)


def cmd_settings(args, settings: Settings, progress) -> tuple[dict, str]:
    data = settings.as_dict()
    return data, "\n".join(f"{k:<22} {v}" for k, v in data.items())


def cmd_sleep(args, settings: Settings, progress) -> tuple[dict, str]:
    """Diagnostic: count for N seconds with progress (exercises jobs end to end)."""
    steps = max(1, int(args.seconds * 10))
    for i in range(steps):
        progress(i, steps, f"sleeping {i / 10:.1f} of {args.seconds} s")
        time.sleep(0.1)
    progress(steps, steps, "done")
    if args.fail:
        raise EngineError(f"Failing on purpose after {args.seconds} s, as --fail asked.")
    return {"slept_s": args.seconds}, f"Slept {args.seconds} s."


# ---------------------------------------------------------------------- parser
class UsageError(EngineError):
    exit_code = 2


def raise_usage(message: str):
    raise UsageError(message)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit(2), but through our message format
        raise UsageError(f"{message} (see `python -m engine {self.prog.split(' ', 1)[-1] if ' ' in self.prog else ''} --help`)".replace("  ", " "))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser = _Parser(prog="python -m engine", description="Brain-MRI pipeline engine: HDFS, Spark, training, classification.", parents=[common])
    parser.add_argument("--progress-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "cluster",
        parents=[common],
        help="start, stop or inspect the local HDFS",
        description="Start, stop or inspect the local HDFS (NameNode + DataNodes on loopback).",
    )
    p.add_argument("action", choices=["up", "down", "status", "stop-node", "start-node"])
    p.add_argument("name", nargs="?", help="daemon for stop-node/start-node, e.g. datanode2")
    p.set_defaults(handler=cmd_cluster)

    dataset.add_parser(sub, common)

    p = sub.add_parser(
        "hdfs",
        parents=[common],
        help="list HDFS paths and show a file's blocks",
        description="List an HDFS folder, or show a file's blocks and the DataNodes holding each replica.",
    )
    p.add_argument("action", choices=["ls", "blocks"])
    p.add_argument("path", help="HDFS path, e.g. /mri")
    p.set_defaults(handler=cmd_hdfs)

    p = sub.add_parser(
        "jobs", parents=[common], help="list, show, start or cancel background jobs", description="Background jobs: any engine command run in its own process."
    )
    p.add_argument("action", choices=["list", "show", "cancel", "start"])
    p.add_argument("id", nargs="?", help="job id for show/cancel")
    p.add_argument("command", nargs=argparse.REMAINDER, help="for start: the engine command to run, after --")
    p.set_defaults(handler=cmd_jobs)

    p = sub.add_parser(
        "preprocess",
        parents=[common],
        help="prepare a dataset's images with Spark into Parquet on HDFS",
        description="Decode, grey, resize and normalise every image with Spark; writes /mri/datasets/<N>/prepared/<PX>px/.",
    )
    p.add_argument("dataset")
    p.add_argument("--size", type=int, default=128, help="output side in pixels (default 128)")
    p.add_argument("--workers", type=int, help="Spark local workers, local[K] (default: MRI_SPARK_MASTER)")
    p.add_argument("--method", choices=["spark-arrow", "spark-rdd"], default="spark-arrow")
    p.add_argument("--master", help="Spark master URL, e.g. spark://127.0.0.1:7077")
    p.set_defaults(handler=cmd_preprocess)

    p = sub.add_parser(
        "train",
        parents=[common],
        help="train a classifier (local Keras or Elephas on Spark)",
        description="Train on a preprocessed dataset; checkpoints every epoch, registers the model in /mri/models/<id>/ with its card.",
    )
    p.add_argument("dataset")
    p.add_argument("--arch", default="compact", choices=["compact", "resnet50"])
    p.add_argument("--mode", default="local", choices=["local", "synchronous", "asynchronous", "hogwild"])
    p.add_argument("--workers", type=int, default=1, help="Spark workers for the Elephas modes")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32, help="images per step (synchronous workers take batch/K each)")
    p.add_argument("--size", type=int, default=128, help="input side in px (the dataset must be preprocessed at it)")
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW decoupled weight decay")
    p.add_argument("--frequency", default="epoch", choices=["epoch", "batch"], help="Elephas weight exchange")
    p.add_argument("--weights", default="imagenet", help="resnet50: imagenet | none | PATH.weights.h5 (a ResNet50 base)")
    p.add_argument("--init-from", metavar="MODEL_ID", help="adapt a registered model: start from its weights (its architecture and input size)")
    p.add_argument(
        "--freeze-epochs", type=int, default=0, help="transfer: epochs that train only the new head; then the top of the base is fine-tuned (0: one phase)"
    )
    p.add_argument(
        "--unfreeze",
        type=float,
        help="transfer: share of the base's top layers fine-tuned after the frozen epochs, BatchNorm excepted (default 0.2; 1.0 with --init-from)",
    )
    p.add_argument("--finetune-learning-rate", type=float, default=1e-4, help="transfer: peak rate of the fine-tuning phase")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--limit", type=int, default=0, help="use only the first N images (0: all)")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads per worker (0: cores / workers)")
    p.add_argument("--resume", nargs="?", const="latest", help="continue a killed run (default: the latest unfinished)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "classify",
        parents=[common],
        help="classify scans (JPEG, PNG, DICOM) with explanations",
        description="Classify scans with the default (or given) model: calibrated probabilities, refusal of "
        "non-MRI input, uncertainty flag; every answer goes to the audit log. Exit 2 if a file is unreadable.",
    )
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--model", help="model id or folder (default: the promoted or shipped model)")
    p.add_argument("--explain", type=Path, metavar="OUT_DIR", help="write a Grad-CAM PNG and a PDF report per scan here")
    p.add_argument("--frame", type=int, help="slice index for a multi-frame DICOM")
    p.set_defaults(handler=cmd_classify)

    p = sub.add_parser(
        "evaluate",
        parents=[common],
        help="metrics of a model on labelled data",
        description="Accuracy, macro F1, per-class figures, confusion matrix and ECE of a model on a class-folder directory or an HDFS dataset.",
    )
    p.add_argument("--model", help="model id or folder (default: the promoted or shipped model)")
    p.add_argument("--data", required=True, help="local class-folder directory (e.g. Kaggle's Testing/) or dataset name")
    p.add_argument("--train-manifest", help="training dataset: also report metrics on images not duplicated in it")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("models", parents=[common], help="list the model registry or promote a model", description="Models in /mri/models and assets/models.")
    p.add_argument(
        "action",
        choices=["list", "promote", "ood", "ship", "seal"],
        help="ood: fit the refusal statistics from the training data; ship: copy a model into assets/models/; "
        "seal: record the SHA-256 of a model file you trust in its card (models without one do not load)",
    )
    p.add_argument("model_id", nargs="?")
    p.set_defaults(handler=cmd_models)

    p = sub.add_parser(
        "benchmark",
        parents=[common],
        help="measure speed and print a table",
        description="Speed experiments on this machine; results are medians of --repeat runs.",
    )
    p.add_argument(
        "kind",
        choices=["preprocess", "train", "read", "classify", "refusal", "adapt"],
        help="preprocess: sequential vs pool vs Spark at 1..K workers; read: per-file vs packed; "
        "classify: latency of one scan, a batch, cold start; refusal: non-MRI refused vs real scans refused; "
        "adapt: accuracy from scratch vs adapted from a model, at a few scans per class",
    )
    p.add_argument("dataset", nargs="?", help="dataset (preprocess, read)")
    p.add_argument("--model", help="classify/refusal: model id (default: the default model)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workers", help="worker counts, e.g. 1,2 (default: 1..cores)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--epochs", type=int, help="train: epochs per run (default 3); adapt: per learning-curve run (default 20)")
    p.add_argument("--limit", type=int, default=0, help="train: use only the first N images (0: all)")
    p.add_argument("--modes", help="train: comma-separated, default local,synchronous,asynchronous")
    p.add_argument("--master", help="Spark master URL (default: MRI_SPARK_MASTER)")
    p.add_argument("--per-class", default="10,25,50,100", help="adapt: labelled scans per class at each point of the curve")
    p.add_argument("--base-epochs", type=int, default=10, help="adapt: epochs of the starting model")
    p.add_argument("--freeze-epochs", type=int, default=2, help="adapt: epochs that train only the head before all layers")
    p.add_argument("--holdout", type=float, default=0.3, help="adapt: share of the dataset the starting model never sees")
    p.set_defaults(handler=cmd_benchmark)

    p = sub.add_parser(
        "spark",
        parents=[common],
        help="start, stop or inspect a local Spark standalone cluster",
        description="A Spark standalone master and K one-core workers on loopback (spark://127.0.0.1:7077).",
    )
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(handler=cmd_spark)

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the whole pipeline on the shipped sample (Demo mode)",
        description="Ingest the shipped sample as dataset 'demo', show its blocks, preprocess it with Spark, "
        "train briefly with Elephas, measure the speed-up and classify a scan. Touches only "
        "the 'demo' dataset and its own models.",
    )
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser(
        "settings",
        parents=[common],
        help="show the effective settings (validates every MRI_* variable)",
        description="Show the settings read from MRI_* environment variables; a bad value is named.",
    )
    p.set_defaults(handler=cmd_settings)

    p = sub.add_parser(
        "sleep",
        parents=[common],
        help="diagnostic: a job that counts for N seconds",
        description="Diagnostic command: reports progress for N seconds (tests the job runner).",
    )
    p.add_argument("seconds", type=float)
    p.add_argument("--fail", action="store_true", help="fail at the end")
    p.set_defaults(handler=cmd_sleep)
    return parser


def _fix_jobs_start(args) -> None:
    # `jobs show ID --json`: REMAINDER swallowed the flag.
    if getattr(args, "handler", None) is cmd_jobs and args.action != "start" and "--json" in (args.command or []):
        args.json = True
        args.command = [w for w in args.command if w != "--json"]
    # `jobs start -- sleep 5`: argparse puts the first word in `id`.
    if getattr(args, "handler", None) is cmd_jobs and args.action == "start":
        words = ([args.id] if args.id else []) + list(args.command or [])
        args.command = [w for w in words if w != "--"]
        args.id = None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    want_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        return _fail(err, want_json)
    _fix_jobs_start(args)
    # Cancel (the job runner's SIGTERM) unwinds like Ctrl-C, so every rollback and `finally` runs.
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(
        level=logging.INFO if (args.verbose or args.progress_file) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    bar = TerminalBar() if not args.json else None
    callbacks: list[Callable] = [cb for cb in (bar, EventFile(args.progress_file) if args.progress_file else None) if cb]
    progress = fan_out(*callbacks) if callbacks else no_progress
    try:
        settings = get_settings()
        # Libraries that print (Elephas' ">>> Fit model") must not break the one-JSON-object contract.
        with contextlib.redirect_stdout(sys.stderr):
            result, text = args.handler(args, settings, progress)
    except PartialFailure as err:  # print what did work, then fail with the reason
        sys.stdout.write((json.dumps(err.result, default=str) if args.json else err.text) + "\n")
        sys.stderr.write(f"error: {err}\n")
        return err.exit_code
    except EngineError as err:
        return _fail(err, args.json)
    except KeyboardInterrupt:
        return _fail(EngineError("Interrupted (cancelled); whatever it had half done was rolled back."), args.json)
    except Exception as err:  # last resort: one sentence on screen, the traceback in the log
        logger.exception("unexpected error")
        return _fail(EngineError(f"Unexpected {type(err).__name__}: {err}. This is a bug; the traceback is above."), args.json)
    finally:
        if bar:
            bar.close()
    if args.json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _fail(err: EngineError, want_json: bool) -> int:
    code = getattr(err, "exit_code", 1)
    sys.stderr.write(f"error: {err}\n")
    if want_json:
        sys.stdout.write(json.dumps({"error": str(err), "exit_code": code}) + "\n")
    return code
