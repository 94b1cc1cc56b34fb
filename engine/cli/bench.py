"""`benchmark`: speed and accuracy experiments, each printed as a table (JSON with --json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.common import raise_usage, worker_list
from engine.hdfs.storage import Storage
from engine.settings import Settings
from engine.textutil import human_bytes


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "benchmark",
        parents=[common],
        help="measure speed and print a table",
        description="Speed experiments on this machine; results are medians of --repeat runs.",
    )
    p.add_argument(
        "kind",
        choices=["preprocess", "train", "read", "classify", "refusal", "adapt", "cv"],
        help="preprocess: sequential vs pool vs Spark at 1..K workers; read: per-file vs packed; "
        "classify: latency of one scan, a batch, cold start; refusal: non-MRI refused vs real scans refused; "
        "adapt: accuracy from scratch vs adapted from a model, at a few scans per class; "
        "cv: cross-validated accuracy, calibration and refusal rates of the training recipe",
    )
    p.add_argument("dataset", nargs="?", help="dataset (preprocess, read)")
    p.add_argument("--model", help="classify/refusal: model id (default: the default model)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--folds", type=int, default=5, help="cv: duplicate-grouped, stratified folds")
    p.add_argument("--max-folds", type=int, default=0, help="cv: stop after this many folds (0: all); a later run continues")
    p.add_argument("--fold", type=int, default=0, help="cv: run only this fold (1-based), e.g. one fold per machine")
    p.add_argument("--with-folds", type=Path, help="cv: an earlier cv result (JSON) of the same recipe whose other folds join these")
    p.add_argument("--workers", help="worker counts, e.g. 1,2 (default: 1..cores)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--augmentation", default="standard", help="cv: training augmentation (standard, wide, framing, erasing)")
    p.add_argument("--arch", default="compact", help="cv: network (compact, resnet50, mobilenetv2)")
    p.add_argument("--weights", default="imagenet", help="cv, resnet50 and mobilenetv2: imagenet | none | PATH.weights.h5 (a base of that architecture)")
    p.add_argument("--learning-rate", type=float, help="cv: peak learning rate (default: the recipe's, 2e-3)")
    p.add_argument("--epochs", type=int, help="train: epochs per run (default 3); adapt: per learning-curve run (default 20)")
    p.add_argument("--limit", type=int, default=0, help="train: use only the first N images (0: all)")
    p.add_argument("--modes", help="train: comma-separated, default local,synchronous,asynchronous")
    p.add_argument("--master", help="Spark master URL (default: MRI_SPARK_MASTER)")
    p.add_argument("--per-class", default="10,25,50,100", help="adapt: labelled scans per class at each point of the curve")
    p.add_argument("--base-epochs", type=int, default=10, help="adapt: epochs of the starting model")
    p.add_argument("--freeze-epochs", type=int, default=2, help="adapt: epochs that train only the head before all layers")
    p.add_argument("--holdout", type=float, default=0.3, help="adapt: share of the dataset the starting model never sees")
    p.set_defaults(handler=cmd_benchmark)


def cmd_benchmark(args, settings: Settings, progress) -> tuple[dict, str]:
    if args.repeat < 1:
        raise_usage("--repeat must be at least 1.")
    if args.kind == "classify":
        return _classify(args, settings)
    if args.kind == "refusal":
        return _refusal(args, settings)
    if not args.dataset:
        raise_usage(f"benchmark {args.kind} needs a dataset name.")
    if args.kind == "cv":
        return _cv(args, settings, progress)
    if args.kind == "adapt":
        from engine.cli.adapt import cmd_adapt

        return cmd_adapt(args, settings, progress)
    return {"train": _train, "preprocess": _preprocess, "read": _read}[args.kind](args, settings, progress)


def _classify(args, settings: Settings) -> tuple[dict, str]:
    from engine.bench.classify import benchmark_speed

    r = benchmark_speed(settings, Storage(settings), args.model)
    return r, (
        f"{r['model']}: one scan (classification + Grad-CAM) p50 {r['single_ms_p50']} ms, p95 {r['single_ms_p95']} ms "
        f"over {r['repeats']}; a dark scan read twice p50 {r['dark_single_ms_p50']} ms, p95 {r['dark_single_ms_p95']} ms; a batch of 100 in {r['batch_100_s']} s; cold start to first answer {r['cold_start_s']} s "
        f"({r['cold_start_with_interpreter_s']} s with the interpreter start)"
    )


def _refusal(args, settings: Settings) -> tuple[dict, str]:
    from engine.bench.preprocess import save_benchmark
    from engine.bench.refusal import benchmark_refusal

    storage = Storage(settings)
    r = benchmark_refusal(settings, storage, args.model)
    save_benchmark(settings, storage, r)  # the Models page shows it
    lines = [
        f"{r['model']}: refused {r['non_mri_refused']} of {r['non_mri']} non-MRI images ({r['non_mri_refused_share']:.1%}), "
        f"{r.get('non_mri_flagged', 0)} more answered with a review flag; "
        f"falsely refused {r['real_falsely_refused']} of {r['real_scans']} real scans ({r['real_falsely_refused_share']:.1%}, "
        f"{r['real_from']})"
    ]
    left_out, source_out = r.get("by_group_left_out", {}), r.get("by_group_source_left_out", {})
    lines.append(f"  {'group':<58} {'refused':>11}   {'its source left out':>19}   its group left out of the check")

    def cell(row: dict | None, width: int) -> str:
        return f"{row['refused']:>3}/{row['n']:<3} {row['share']:>4.0%}".rjust(width) if row else " " * width

    for k, v in r["by_group"].items():
        lines.append(f"  {k:<58} {cell(v, 11)}   {cell(source_out.get(k), 19)}   {cell(left_out.get(k), 11)}".rstrip())
    lines.append("  false refusals per class: " + ", ".join(f"{c} {v:.1%}" for c, v in r["real_falsely_refused_per_class"].items()))
    lines.append(f"Real held-out scans under each shift ({r['shift_scans']} scans each):")
    lines.append(f"  {'shift':<30} {'refused':>8} {'flagged':>8} {'accuracy of answers':>20} {'wrong, unflagged':>17}")
    for name, row in r["shifts"].items():
        acc = f"{row['accuracy_answered']:.1%}" if row["accuracy_answered"] is not None else "-"
        wrong = f"{row['wrong_plain_answers']:.1%}" if "wrong_plain_answers" in row else "-"
        lines.append(f"  {name:<30} {row['refused']:>8.1%} {row['uncertain']:>8.1%} {acc:>20} {wrong:>17}")
    return r, "\n".join(lines)


def _cv(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.cv import run_cv
    from engine.ml.config import TrainConfig

    if not 2 <= args.folds <= 20:
        raise_usage("--folds must be between 2 and 20.")
    recipe = {"epochs": args.epochs} if args.epochs else {}  # what is not given stays TrainConfig's default
    if args.learning_rate:
        recipe["learning_rate"] = args.learning_rate
    if args.arch != "compact":  # the compact recipe's key (its cv folder) stays that of runs before --arch
        recipe.update(arch=args.arch, weights=args.weights)
    config = TrainConfig(dataset=args.dataset, size=args.size, limit=args.limit, augmentation=args.augmentation, **recipe)
    earlier = None
    if args.with_folds:
        try:
            earlier = json.loads(args.with_folds.read_text())
        except (OSError, ValueError) as err:
            raise_usage(f"--with-folds: cannot read {args.with_folds} as a cv result ({err}).")
    r = run_cv(settings, Storage(settings), config, folds=args.folds, on_progress=progress, max_folds=args.max_folds, fold=args.fold, earlier=earlier)
    lines = [
        ("" if r["complete"] else f"INCOMPLETE: {r['folds_done']} of {args.folds} folds. ")
        + f"{r['recipe']['folds']}-fold cross-validation of {args.dataset} ({r['n']} scans, {r['recipe']['epochs']} epochs at {r['recipe']['size']} px):",
        f"  {'fold':>4} {'n':>5} {'accuracy':>8} {'ECE':>6} {'refused':>7} {'uncertain':>9}  recall g / m / n / p",
    ]
    for f in r["folds"]:
        recall = " / ".join(f"{v:.3f}" for v in f["per_class"].values())
        lines.append(f"  {f['fold']:>4} {f['n']:>5} {f['accuracy']:>8.4f} {f['ece']:>6.3f} {f['refused']['overall']:>7.3%} {f['uncertain']:>9.3%}  {recall}")
    a = r["accuracy"]
    lines.append(
        f"  accuracy mean {a['mean']:.4f} (min {a['min']:.4f}, max {a['max']:.4f}); refused mean {r['refused']['mean']:.3%}, max {r['refused']['max']:.3%}"
    )
    return r, "\n".join(lines)


def _train(args, settings: Settings, progress) -> tuple[dict, str]:
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
        workers=worker_list(args.workers),
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


def _preprocess(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.preprocess import benchmark_preprocess

    r = benchmark_preprocess(
        settings, Storage(settings), args.dataset, workers=worker_list(args.workers), repeat=args.repeat, size=args.size, on_progress=progress
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


def _read(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.read import benchmark_read

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
