"""The shipped model's gate on real images: CT, X-ray, nuclear medicine, ultrasound and other-body MR arriving as grey
PNG screenshots (so no DICOM header can give them away) are refused as not brain MRI, while the real scans of the
shipped sample are answered.

The check learnt from these very sources (other views of them), so this guards the shipped statistics against a
regression; how it fares on kinds of image it never saw is what `benchmark refusal` measures with each source
left out (docs/model.md).
"""

import pytest

from engine.clinic.classify import Classifier
from engine.clinic.gate import NOT_BRAIN_MRI_REASON
from engine.data.negatives import negatives
from engine.ml import registry
from engine.ml.inference import LoadedModel
from engine.png import png_bytes
from tests.images import SAMPLE


@pytest.fixture(scope="module")
def shipped():
    return Classifier(LoadedModel(registry.shipped_models()[-1]))


def test_real_images_of_other_modalities_sent_as_grey_png_are_refused_as_not_brain_mri(shipped):
    learnt = set(shipped.ood["mri_check"]["negative_sources"])  # a source added to the library later is benchmark's to judge
    medical = [n for n in negatives() if n.group in ("ct", "xray", "nm", "us", "mr-other") and n.source in learnt]
    assert {n.source for n in medical} >= {"ct-head", "ct-spine", "xray-chest", "nm-whole-body", "us-lymph-node", "mr-abdomen", "mr-shoulder"}
    answers = shipped.classify([(f"{n.source}.png", png_bytes(n.image)) for n in medical])
    answered = [(n.source, a.label, a.reason) for n, a in zip(medical, answers) if not a.rejected]
    assert answered == []
    assert sum(a.reason == NOT_BRAIN_MRI_REASON for a in answers) >= len(medical) - 2, "the brain-MRI check, not luck, refuses them"


def test_the_real_scans_of_the_sample_are_answered_and_its_head_ct_slice_refused(shipped):
    """The sample keeps the public dataset's filing: one of its "no tumour" slices is a head CT
    (engine.data.not_brain_mri), which the check learnt as CT, so it is refused; every real brain MRI is answered."""
    files = sorted((SAMPLE / "Training").rglob("*.jpg"))
    answers = shipped.classify([(f.name, f.read_bytes()) for f in files])
    assert len(files) >= 40
    refused = [(a.file, a.reason) for a in answers if a.rejected]
    assert refused == [("Tr-no_1174.jpg", NOT_BRAIN_MRI_REASON)]
    assert all(a.mri_score is not None and a.to_json()["brain_mri_score"] == a.mri_score for a in answers)
