"""`preprocess`, `train`, `evaluate` and `models`: from a dataset to a registered model."""

from __future__ import annotations

import argparse
import dataclasses

from engine.cli.common import raise_usage
from engine.data.pixels import DEFAULT_SIZE
from engine.hdfs.storage import Storage
from engine.jobs.requests import SPARK_METHODS, train_flag
from engine.ml.config import TrainConfig, TrainingMode
from engine.ml.models import Architecture, Augmentation
from engine.settings import Settings
from engine.textutil import human_bytes


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "preprocess",
        parents=[common],
        help="prepare a dataset's images with Spark into Parquet on HDFS",
        description="Decode, grey, resize and normalise every image with Spark; writes /mri/datasets/<N>/prepared/<PX>px/.",
    )
    p.add_argument("dataset")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"output side in pixels (default {DEFAULT_SIZE})")
    p.add_argument("--workers", type=int, help="Spark local workers, local[K] (default: MRI_SPARK_MASTER)")
    p.add_argument("--method", choices=[str(m) for m in SPARK_METHODS], default=str(SPARK_METHODS[0]))
    p.add_argument("--master", help="Spark master URL, e.g. spark://127.0.0.1:7077")
    p.set_defaults(handler=cmd_preprocess)

    p = sub.add_parser(
        "train",
        parents=[common],
        help="train a classifier (local Keras or Elephas on Spark)",
        description="Train on a preprocessed dataset; checkpoints every epoch, registers the model in /mri/models/<id>/ with its card.",
    )
    p.add_argument("dataset")
    add_train_options(p)
    p.add_argument("--resume", nargs="?", const="latest", help="continue a killed run (default: the latest unfinished)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser(
        "evaluate",
        parents=[common],
        help="metrics of a model on labelled data",
        description="Accuracy, macro F1, per-class figures, confusion matrix and ECE of a model on a class-folder directory or an HDFS dataset.",
    )
    p.add_argument("--model", help="model id or folder (default: the promoted or shipped model)")
    p.add_argument("--data", required=True, help="local class-folder directory (e.g. Kaggle's Testing/) or dataset name")
    p.add_argument("--train-manifest", help="training dataset: also report metrics on images not duplicated in it")
    p.add_argument("--remove-source", action="store_true", help="delete --data afterwards, whatever the outcome, if it is an upload in <run>/uploads")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("models", parents=[common], help="list the model registry or promote a model", description="Models in /mri/models and assets/models.")
    p.add_argument(
        "action",
        choices=["list", "promote", "ood", "ship", "seal", "cv", "flip", "noflip", "rim", "norim"],
        help="ood: fit the refusal statistics from the training data; ship: copy a model into assets/models/; "
        "cv: write the newest cross-validation of the model's recipe (`benchmark cv`) into its card; "
        "flip / noflip: read each scan and its mirror image and average (test-time flip), or stop; "
        "rim / norim: read each scan in a thin black rim, as training views have, or stop; the temperature is refitted; "
        "seal: record the SHA-256 of a model file you trust in its card (models without one do not load)",
    )
    p.add_argument("model_id", nargs="?")
    p.set_defaults(handler=cmd_models)


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
    from engine.ml.training import train

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    card = train(settings, Storage(settings), config, resume=args.resume, on_progress=progress)
    v = card["validation"]
    text = (
        f"Model {card['model_id']}: validation accuracy {v['accuracy']:.4f} "
        f"(95% CI {v['accuracy_ci95'][0]:.3f}-{v['accuracy_ci95'][1]:.3f}, n={v['n']}), macro F1 {v['macro_f1']:.4f}, "
        f"glioma recall {v['per_class']['glioma']['recall']:.3f}, ECE {v['ece']:.3f}; "
        f"trained in {card['training']['seconds']:.0f} s, registered in /mri/models/{card['model_id']}/"
    )
    return card, text


def cmd_evaluate(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.clinic.validate import gate_report
    from engine.ml.evaluate import evaluate_model

    try:
        r = evaluate_model(settings, Storage(settings), args.model, args.data, args.train_manifest, on_progress=progress, gate_report=gate_report)
    finally:
        if args.remove_source:
            from pathlib import Path

            from engine.jobs.uploads import remove_if_upload

            remove_if_upload(settings, Path(args.data))
    lines = [
        f"{r['model']} on {r['data']}: accuracy {r['accuracy']:.4f} (95% CI {r['accuracy_ci95'][0]:.3f}-"
        f"{r['accuracy_ci95'][1]:.3f}, n={r['n']}), macro F1 {r['macro_f1']:.4f}, ECE {r['ece']:.3f}"
    ]
    for cls, m in r["per_class"].items():
        lines.append(
            f"  {cls:<11} precision {m['precision']:.3f} recall {m['recall']:.3f} f1 {m['f1']:.3f} support {m['support']}"
            f"   refused {r['refused']['per_class'][cls]}, flagged for review {r['uncertain']['per_class'][cls]}"
        )
    if r["accuracy_accepted"] is not None:
        lines.append(f"  refused {r['refused']['total']} of {r['n']}; accuracy on the {r['n_accepted']} answered: {r['accuracy_accepted']:.4f}")
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
    if args.action in ("promote", "ood", "ship", "seal", "cv", "flip", "noflip", "rim", "norim") and not args.model_id:
        raise_usage(f"models {args.action} needs a model id.")
    if args.action == "ood":
        from engine.ml.ood import fit_model_ood

        r = fit_model_ood(settings, storage, args.model_id)
        return r, (
            f"{args.model_id}: review beyond distance {r['threshold']:.2f} (held-out median {r['heldout_median']:.2f}), refuse beyond "
            f"{r['refuse_threshold']:.2f}; layout threshold {r['layout_threshold']:.2f}; brain-MRI check refuses below {r['brain_mri_threshold']:.2f}."
        )
    if args.action == "ship":
        target = registry.ship(settings, storage, args.model_id)
        return {"shipped": str(target)}, f"Copied {args.model_id} to {target} (commit it to make it the default)."
    if args.action == "seal":
        folder = registry.fetch(settings, storage, registry.check_model_id(args.model_id))
        card = registry.seal(folder)
        registry.write_card(storage, folder, card)
        return (
            {"model_id": args.model_id, "model_sha256": card["model_sha256"]},
            f"{args.model_id}: its card now records SHA-256 {card['model_sha256']}; only this exact file will load.",
        )
    if args.action in ("flip", "noflip", "rim", "norim"):
        from engine.ml.flip_switch import switch_flip
        from engine.ml.test_time import RIM_SCALE

        flip = {"flip": True, "noflip": False}.get(args.action)  # None: as the card has it
        r = switch_flip(settings, storage, args.model_id, on=flip, rim={"rim": RIM_SCALE, "norim": 1.0}.get(args.action))
        return r, (
            f"{args.model_id}: test-time flip {'on' if r['test_time_flip'] else 'off'}, rim {r['test_time_rim']:g}; temperature {r['temperature']:.3f}; "
            f"validation accuracy {r['validation_accuracy_before']:.2%} -> {r['validation_accuracy']:.2%} ({r['validation_n']} scans)."
        )
    if args.action == "cv":
        from engine.bench.cv import attach_to_card
        from engine.ml.intended_use import refused_text

        summary = attach_to_card(settings, storage, args.model_id)
        return summary, (
            f"{args.model_id}: its card now states the cross-validated figures of its recipe ({summary['folds_done']} of "
            f"{summary['folds']} folds, {summary['n']:,} scans): accuracy {summary['accuracy']:.2%}, {refused_text(summary)}."
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


TRAIN_HELP = {  # the defaults and choices come from TrainConfig and its enums; only the words live here
    "arch": "network: the compact CNN or ResNet50 transfer learning",
    "mode": "local: plain Keras; synchronous / asynchronous / hogwild: Elephas on Spark",
    "workers": "Spark workers for the Elephas modes",
    "epochs": "passes over the training split",
    "batch_size": "images per step (synchronous workers take batch/K each)",
    "size": "input side in px (the dataset must be preprocessed at it)",
    "learning_rate": "peak AdamW learning rate, reached after the warm-up",
    "warmup_epochs": "linear warm-up epochs before the cosine decay (at most half a phase)",
    "weight_decay": "AdamW decoupled weight decay",
    "label_smoothing": "softens the one-hot targets",
    "val_fraction": "share of duplicate groups held out for validation",
    "seed": "split, weights and augmentation",
    "frequency": "Elephas weight exchange",
    "weights": "resnet50, mobilenetv2: imagenet | none | PATH.weights.h5 (a base of that architecture)",
    "freeze_epochs": "transfer: epochs that train only the new head; then the top of the base is fine-tuned (0: one phase)",
    "unfreeze": "transfer: share of the base's top layers fine-tuned after the frozen epochs, BatchNorm excepted (default 0.2; 1.0 with --init-from)",
    "finetune_learning_rate": "transfer: peak rate of the fine-tuning phase",
    "init_from": "adapt a registered model: start from its weights (its architecture and input size)",
    "threads": "TensorFlow threads per worker (0: cores / workers)",
    "limit": "use only the first N images (0: all)",
    "augmentation": "training augmentation: standard, wide (also zoom out to half size, brightness, stronger contrast), framing (the zoom-out alone) or erasing (a black patch over half the scans)",
}
TRAIN_CHOICES = {
    "arch": [str(a) for a in Architecture],
    "mode": [str(m) for m in TrainingMode],
    "frequency": ["epoch", "batch"],
    "augmentation": [str(a) for a in Augmentation],
}


def add_train_options(p: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field, its default and type taken from the dataclass."""
    for field in dataclasses.fields(TrainConfig)[1:]:
        default = field.default
        kind = float if field.name == "unfreeze" else type(default)
        help_text = TRAIN_HELP[field.name] + ("" if default in (None, "") else f" (default {default})")
        p.add_argument(train_flag(field.name), dest=field.name, type=kind, default=default, choices=TRAIN_CHOICES.get(field.name), help=help_text)
