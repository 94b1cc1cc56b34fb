"""The four classes, always in this order, and the folder spellings users' copies use for them."""

from __future__ import annotations

import re

CLASSES: tuple[str, ...] = ("glioma", "meningioma", "notumor", "pituitary")
CLASS_LABELS = {"glioma": "Glioma", "meningioma": "Meningioma", "notumor": "No tumour", "pituitary": "Pituitary"}

# Kaggle and figshare copies spell folders many ways: "no_tumor", "pituitary_tumor", "Glioma Tumor", ...
_ALIASES = {
    "glioma": "glioma",
    "gliomatumor": "glioma",
    "gliomatumour": "glioma",
    "gl": "glioma",
    "meningioma": "meningioma",
    "meningiomatumor": "meningioma",
    "meningiomatumour": "meningioma",
    "me": "meningioma",
    "notumor": "notumor",
    "notumour": "notumor",
    "no": "notumor",
    "none": "notumor",
    "healthy": "notumor",
    "normal": "notumor",
    "nt": "notumor",
    "pituitary": "pituitary",
    "pituitarytumor": "pituitary",
    "pituitarytumour": "pituitary",
    "pi": "pituitary",
}

SPLITS = {"training": "train", "train": "train", "testing": "test", "test": "test", "validation": "val", "valid": "val", "val": "val"}


def normalize_class(folder: str) -> str | None:
    """The canonical class for a folder name, case- and punctuation-insensitive; None if unknown."""
    key = re.sub(r"[^a-z]", "", folder.lower())
    return _ALIASES.get(key)


def normalize_split(folder: str) -> str | None:
    """'Training' -> 'train', 'Testing' -> 'test', 'val'...; None when the folder is no split name."""
    return SPLITS.get(re.sub(r"[^a-z]", "", folder.lower()))
