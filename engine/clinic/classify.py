"""Classify scans: decode (JPEG/PNG/DICOM), refuse what is not a brain MRI slice, answer with calibrated
probabilities and a Grad-CAM heat map, flag uncertain answers, and log every answer to the audit log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time

import numpy as np
from PIL import Image

from engine.classes import CLASSES
from engine.clinic import classification_log, gate
from engine.clinic.gate import NO_TUMOUR_CONFIDENT_ABOVE, UNCERTAIN_BELOW, review_reason  # noqa: F401 - part of this module's interface
from engine.data.bone_ring import bone_ring_share
from engine.data.exposure import brightness_of, dark_and_lifted
from engine.data.framing import content_span, reframe
from engine.data.pixels import prepare_pil
from engine.data.scans import Scan, read_scan
from engine.errors import InputError
from engine.ml import mri_check
from engine.ml.calibration import calibrated_probabilities
from engine.ml.explainer import Explainer
from engine.ml.inference import LoadedModel
from engine.ml.layout import layout_distance, layout_stats
from engine.ml.ood import load_ood, mahalanobis
from engine.settings import Settings

logger = logging.getLogger(__name__)

# The share of strongly coloured pixels above which an image is a colour picture: real scans with a tint or a
# publisher's banner stay under 0.05 (5,708 training scans: at most 0.044), colour photos score 0.3 and more.
COLOUR_SHARE_ABOVE = 0.15
FLAT_STD_BELOW = 4.0  # a blank or nearly uniform image has no anatomy to classify


@dataclasses.dataclass
class Answer:
    """One file's outcome; ``cam`` and ``grey`` stay in memory for the page and the PDF, never in logs."""

    file: str
    sha256: str
    label: str | None = None
    probabilities: dict | None = None
    uncertain: bool = False
    rejected: bool = False
    reason: str | None = None
    bad_input: bool = False  # the file could not be read at all (CLI exit code 2)
    ood_distance: float | None = None
    mri_score: float | None = None  # log-odds that this is a brain MRI slice (engine.ml.mri_check)
    technical: dict = dataclasses.field(default_factory=dict)
    burned_in_annotation: bool = False  # the DICOM says text is burnt into the pixels: they may show patient data
    reframed: bool = False  # a dark frame wider than any training scan's was cut away before the model looked
    brightened: bool = False  # darker than the model's line: also read lifted to its training median, answers averaged
    time: str = dataclasses.field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))  # when it was answered
    model: str | None = None  # id of the model that answered (None: refused before any model looked)
    grey: Image.Image | None = None
    cam: np.ndarray | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "label": self.label,
            "probabilities": self.probabilities,
            "uncertain": self.uncertain,
            "rejected": self.rejected,
            "reason": self.reason,
            "sha256": self.sha256,
            "technical": self.technical,
            "ood_distance": self.ood_distance,
            "brain_mri_score": self.mri_score,
            "burned_in_annotation": self.burned_in_annotation,
            "reframed": self.reframed,
            "brightened": self.brightened,
            "time": self.time,
            "model": self.model,
        }


# DICOM modalities that are certainly not MRI; "OT" (other) and secondary captures may hold an MRI slice, so they pass.
NOT_MRI_MODALITIES = {
    "CT": "a CT",
    "NM": "a nuclear-medicine",
    "PT": "a PET",
    "US": "an ultrasound",
    "CR": "an X-ray",
    "DX": "an X-ray",
    "RG": "an X-ray",
    "MG": "a mammography",
    "XA": "an angiography",
    "RF": "a fluoroscopy",
    "IO": "a dental X-ray",
    "PX": "a panoramic X-ray",
    "OP": "an eye",
    "SM": "a microscopy",
    "ES": "an endoscopy",
    "XC": "a camera",
}


def screen(scan: Scan) -> str | None:
    """A reason to refuse before the model looks, or None."""
    modality = str(scan.technical.get("Modality", "")).strip().upper() if scan.kind == "dicom" else ""
    if modality in NOT_MRI_MODALITIES:
        return f"The DICOM header says this is {NOT_MRI_MODALITIES[modality]} image (Modality {modality}), not an MRI; the model reads brain MRI slices only."
    if scan.colour_share > COLOUR_SHARE_ABOVE:
        return "This is a colour image, not a brain MRI slice (MRI is greyscale)."
    arr = np.asarray(scan.image.resize((128, 128)), dtype=np.float32)
    if arr.std() < FLAT_STD_BELOW:
        return "The image is blank or nearly uniform: there is no anatomy to classify."
    return None


def read_uploads(items: list[tuple[str, bytes | InputError]], frame: int | None = None) -> list[Answer]:
    """Decode and screen each (name, bytes) pair; needs no model, so hostile files are answered before one loads.

    ``bytes`` may instead be the InputError that kept the caller from reading the file. Every failure, of any
    type, becomes a refused Answer with its reason; an Answer with ``grey`` set and not rejected awaits the model.
    """
    answers = []
    for name, data in items:
        t0 = time.perf_counter()
        unread = data if isinstance(data, InputError) else None
        ans = Answer(file=name, sha256=hashlib.sha256(b"" if unread else data).hexdigest())
        try:
            if unread:
                raise unread
            scan = read_scan(data, frame)
            ans.technical, ans.burned_in_annotation, ans.grey = scan.technical, scan.burned_in_annotation, scan.image
            ans.reason = screen(scan)
            ans.rejected = ans.reason is not None
            if not ans.rejected:  # the page, the heat map and the PDF show what the model saw
                ans.grey, ans.reframed = reframe(scan.image)
        except InputError as err:
            ans.rejected, ans.bad_input, ans.reason = True, True, _sentence(str(err))
        except Exception as err:  # noqa: BLE001 - one hostile file must not cost the others their answers
            logger.error("unexpected %s reading an upload (details withheld: they may quote its header)", type(err).__name__)
            ans.rejected, ans.bad_input = True, True
            ans.reason = f"The file could not be read ({type(err).__name__}); it is refused rather than guessed."
        ans.seconds = time.perf_counter() - t0
        answers.append(ans)
    return answers


def log_answers(settings: Settings, answers: list[Answer], model_id: str, source: str) -> None:
    """Each answer once into the audit log (no file names, no pixels)."""
    classification_log.append(settings, [classification_log.entry(a.to_json(), model_id, source) for a in answers])


class Classifier:
    """A loaded model with its explainer and OOD statistics: create once, call many times."""

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.explainer = Explainer(loaded.model, flip=loaded.flip, rim=loaded.rim)
        self.ood = load_ood(loaded.folder)
        self.explainer(np.zeros((1, loaded.size, loaded.size, loaded.channels), dtype=np.uint8))  # trace once: fast first answer

    @property
    def model_id(self) -> str:
        return self.loaded.model_id

    def classify(self, items: list[tuple[str, bytes | InputError]], frame: int | None = None, log: Settings | None = None, source: str = "cli") -> list[Answer]:
        """Classify (name, bytes) pairs; a bad file becomes a rejected Answer, the rest still run."""
        return self.answer(read_uploads(items, frame), log, source)

    def read(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(heat maps, features, logits, brightness, read twice) of a prepared batch. Darkness sways this model
        (engine.data.exposure): a scan darker than its line is read a second time lifted to the training scans'
        median brightness; the two readings' logits are averaged, and the heat map is the lifted reading's."""
        brightness = brightness_of(batch)
        dark, lifted = dark_and_lifted(batch, brightness, self.ood)
        n = len(batch)
        cams, feats, logits = self.explainer(np.concatenate([batch, lifted]) if dark.any() else batch)  # one pass for both
        cams, feats, logits, lifted_cams, lifted_logits = cams[:n], feats[:n], logits[:n], cams[n:], logits[n:]
        if dark.any():
            logits[dark], cams[dark] = (logits[dark] + lifted_logits) / 2, lifted_cams
        return cams, feats, logits, brightness, dark

    def answer(self, answers: list[Answer], log: Settings | None = None, source: str = "cli") -> list[Answer]:
        """Run the model on the decoded, unrefused answers of :func:`read_uploads`; log all of them once."""
        slots = [i for i, a in enumerate(answers) if a.grey is not None and not a.rejected]
        if slots:
            t0 = time.perf_counter()
            try:
                batch = np.stack([prepare_pil(answers[i].grey, self.loaded.size, self.loaded.channels) for i in slots])
                cams, feats, logits, brightness, dark = self.read(batch)
            except Exception as err:  # noqa: BLE001 - every upload still gets an answer (a refusal) and a log line
                logger.exception("the model failed on a batch of %d scans", len(slots))
                for i in slots:
                    answers[i].rejected = True
                    answers[i].reason = f"The model could not process this scan ({type(err).__name__}); it is refused rather than guessed."
                slots = []
        if slots:
            probs = calibrated_probabilities(logits, self.loaded.temperature)
            distances = mahalanobis(feats, self.ood["means"], self.ood["precision"]) if self.ood else None
            layout = layout_distance(layout_stats(batch), self.ood["layout"]) if self.ood and self.ood.get("layout") else None
            check = self.ood.get("mri_check") if self.ood else None
            mri_scores = mri_check.scores(mri_check.inputs(feats, batch), check) if check else None
            share = (time.perf_counter() - t0) / len(slots)
            for k, i in enumerate(slots):
                ans = answers[i]
                ans.model = self.model_id
                ans.probabilities = {c: float(p) for c, p in zip(CLASSES, probs[k])}
                ans.seconds += share
                ans.ood_distance = float(distances[k]) if distances is not None else None
                ans.mri_score = float(mri_scores[k]) if mri_scores is not None else None
                layout_k = None if layout is None else float(layout[k])
                v = gate.verdict(
                    probs[k],
                    ans.ood_distance,
                    self.ood,
                    layout_k,
                    ans.mri_score,
                    gate.Looks(
                        content_span(batch[k]),
                        None if np.isnan(brightness[k]) else float(brightness[k]),
                        min(ans.grey.size),
                        max(ans.grey.size) / min(ans.grey.size),
                        bone_ring_share(batch[k]),
                    ),
                )
                ans.rejected, ans.uncertain, ans.reason, ans.label = v.rejected, v.uncertain, v.reason, v.label
                ans.brightened = bool(dark[k])
                if not v.rejected:
                    ans.cam = cams[k]  # only an answered scan gets a heat map: a refusal explains nothing
        if log is not None:
            log_answers(log, answers, self.model_id, source)
        return answers


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[0].upper() + text[1:]) if text else text
