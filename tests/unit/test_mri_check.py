"""The brain-MRI check's network and threshold: it refuses only what it finds more likely not a brain MRI AND
below what 99% of held-out real scans reach; a left-out source is really left out."""

import numpy as np

from engine.data.negatives import negatives
from engine.ml import mri_check


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "pos": rng.normal(1.0, 1.0, (400, 5)),
        "neg": np.concatenate([rng.normal(-2.0, 1.0, (100, 5)), rng.normal(-1.0, 0.5, (100, 5))]),
        "neg_sources": np.array(["a"] * 100 + ["b"] * 100),
        "heldout": rng.normal(1.0, 1.0, (1000, 5)),
    }


def test_the_threshold_keeps_all_but_the_quantile_of_held_out_real_scans_and_is_never_positive():
    rows = _rows()
    fitted = mri_check.fit_from_rows(rows)
    held = mri_check.scores(rows["heldout"], fitted)
    assert fitted["threshold"] <= 0.0
    assert (held < fitted["threshold"]).mean() <= mri_check.CHECK_QUANTILE + 1e-9
    assert (mri_check.scores(rows["neg"], fitted) < fitted["threshold"]).mean() > 0.5
    # the doubt line is the same quantile unclamped: a refusal only with a second doubt (engine.clinic.gate)
    assert fitted["doubt_below"] >= fitted["threshold"]
    assert abs((held < fitted["doubt_below"]).mean() - mri_check.CHECK_QUANTILE) <= 1e-3


def test_a_left_out_source_is_not_learnt_from():
    fitted = mri_check.fit_from_rows(_rows(), leave_out="b")
    assert fitted["negative_sources"] == ["a"]


def test_the_held_out_half_is_fixed_by_path_and_about_half():
    paths = [f"/data/x/{i}.jpg" for i in range(2000)]
    half = mri_check.threshold_half(paths)
    assert 0.45 < half.mean() < 0.55
    assert (mri_check.threshold_half(paths[::-1]) == half[::-1]).all()
    odd = [p for p, h in zip(paths, half) if not h][:3]
    assert mri_check.threshold_half(odd).all(), "a split wholly in the other half still gives the threshold scans"


def test_inputs_have_a_fixed_width_for_any_image():
    x = np.stack([mri_check.negative_arrays(64, 1, per_source=0)[0][0]] * 2)
    rows = mri_check.inputs(np.zeros((2, 3)), x)
    assert rows.shape == (2, 3 + 7)
    assert len(negatives()) > 50


def test_no_held_out_scores_leaves_the_plain_log_odds_boundary():
    assert mri_check.fit_threshold(np.array([])) == 0.0
    assert mri_check.fit_threshold(np.array([3.0, 4.0])) == 0.0
    # below 0 only when more than the quantile's share of held-out real scans score under it
    share = mri_check.CHECK_QUANTILE
    assert mri_check.fit_threshold(np.array([-2.0] * int(2 * share * 1000) + [5.0] * 1000)) == -2.0
    assert mri_check.fit_threshold(np.array([-2.0] * int(share * 1000 / 2) + [5.0] * 1000)) == 0.0


def test_the_check_is_the_mean_of_its_members_and_a_stored_single_network_still_scores():
    rows = _rows()
    fitted = mri_check.fit_network(rows["pos"], rows["neg"], members=3)
    assert len(fitted["members"]) == 3
    each = [mri_check.scores(rows["heldout"], m) for m in fitted["members"]]
    assert not np.allclose(each[0], each[1]), "members differ by seed"
    assert np.allclose(mri_check.scores(rows["heldout"], fitted), np.mean(each, axis=0))
    single = fitted["members"][0]  # the format of checks stored before 2026-12-04
    assert np.allclose(mri_check.scores(rows["heldout"], single), each[0])
    assert np.allclose(mri_check.scores(rows["heldout"], mri_check.with_arrays(fitted)), np.mean(each, axis=0))
    assert np.allclose(mri_check.scores(rows["heldout"], mri_check.with_arrays(single)), each[0])
