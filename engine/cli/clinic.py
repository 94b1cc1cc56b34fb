"""`classify`: a clinician's answer from the command line, with Grad-CAM and a PDF report per scan."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.common import PartialFailure
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.settings import Settings


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
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
