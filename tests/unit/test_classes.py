"""Class and split folder names as users' copies spell them."""

import pytest

from engine.classes import normalize_class, normalize_split


@pytest.mark.parametrize(
    "folder, cls",
    [
        ("glioma", "glioma"),
        ("Glioma", "glioma"),
        ("glioma_tumor", "glioma"),
        ("Glioma Tumor", "glioma"),
        ("meningioma_tumor", "meningioma"),
        ("no_tumor", "notumor"),
        ("notumor", "notumor"),
        ("No Tumour", "notumor"),
        ("pituitary_tumor", "pituitary"),
        ("PITUITARY", "pituitary"),
        ("astrocytoma", None),
        (".ipynb_checkpoints", None),
    ],
)
def test_class_aliases(folder, cls):
    assert normalize_class(folder) == cls


@pytest.mark.parametrize("folder, split", [("Training", "train"), ("Testing", "test"), ("val", "val"), ("archive", None)])
def test_split_aliases(folder, split):
    assert normalize_split(folder) == split
