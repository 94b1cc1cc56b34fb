"""Is this a brain MRI slice at all? A small neural network on the model's own penultimate features and the seven
layout statistics (:mod:`engine.ml.layout`), trained on real scans (as they are and under the shifts uploads
carry, :mod:`engine.data.shifts`) against real images that are not brain MRI (:mod:`engine.data.negatives`:
CT, X-ray, nuclear medicine, ultrasound, other-body MR, photographs, microscopy, pages, patterns), and against the training
dataset's own images that are not brain MRI (:mod:`engine.data.not_brain_mri`: head CT slices the public dataset
files as "no tumour"), which are never among its positives.

The feature distance alone could not tell "an unusual brain MRI" from "not a brain MRI": a head CT sat closer to
the training scans than some real meningiomas. A check that has seen both sides can. It refuses only when the
network finds "not a brain MRI" more likely (a negative score) AND the score is below what 99% of held-out
real scans and their shifted uploads reach, so a real scan that is merely unusual is answered and flagged.

The threshold is fitted on one half of the held-out scans (:func:`threshold_half`), so `benchmark refusal` can
count false refusals on the other half, which neither the model nor this check has seen.
"""

from __future__ import annotations

import hashlib

import numpy as np

from engine.ml.layout import layout_stats

# Refuse below the score 99% of held-out real scans (clean and shifted) exceed, and never above 0. At 0.2% (until
# 2026-12-04) most images of a new source that escaped refusal were only flagged; at 1% the threshold of the shipped
# check meets 0 and a new source of a known kind is refused 97% of the time against 92%, for one more of 288 unseen
# real scans refused (docs/model.md).
CHECK_QUANTILE = 0.01
NEGATIVE_VARIANTS = 12  # random views of each negative source the network learns from
SHIFTED_TRAIN_SCANS = 300  # training scans whose shifted uploads the network learns from
SHIFTED_HELDOUT_SCANS = 150  # held-out scans whose shifted uploads set the threshold
# A one-hidden-layer network, chosen on the shipped model against logistic regressions (docs/model.md): a linear
# score let the originals of a head CT and a bone scan through even after learning from views of them, and
# generalised worse to a whole group of images left out (photographs 66% refused against 81%, ultrasound 71%
# against 85%).
HIDDEN_UNITS = 64
WEIGHT_DECAY = 1e-2
# Networks of consecutive seeds whose log-odds are averaged. One network moved a few sources between refused and
# flagged each time it was refitted (the 97-source refit flagged three library originals it had learnt from); the
# mean of five refused 496 of 503 views against 484, and no view got a plain answer (docs/model.md).
CHECK_MEMBERS = 5


def threshold_half(paths: list[str]) -> np.ndarray:
    """True for the held-out scans whose scores set the threshold: a fixed half, by a hash of the path (all of
    them when a tiny split hashes wholly to the other half: a threshold needs scans)."""
    half = np.array([int(hashlib.sha1(p.encode()).hexdigest()[:8], 16) % 2 == 0 for p in paths], dtype=bool)
    return half if half.any() else np.ones(len(paths), dtype=bool)


def shifted_arrays(x: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Every shift of :mod:`engine.data.shifts` applied to ``count`` prepared scans, decoded as an upload is."""
    from PIL import Image

    from engine.data.framing import reframe
    from engine.data.pixels import prepare_pil
    from engine.data.scans import read_scan
    from engine.data.shifts import shifted
    from engine.errors import InputError

    size, channels = x.shape[1], x.shape[3]
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(x), min(count, len(x)), replace=False)
    out = []
    for i in picked:
        for _, data in shifted(Image.fromarray(x[i].mean(axis=-1).astype(np.uint8))):
            try:
                out.append(prepare_pil(reframe(read_scan(data).image)[0], size, channels))  # as the clinic reads it
            except InputError:  # a crop of a tiny prepared image falls under the smallest upload: the clinic refuses it first
                continue
    return np.stack(out) if out else np.zeros((0, *x.shape[1:]), dtype=np.uint8)


def negative_arrays(
    size: int, channels: int, per_source: int = NEGATIVE_VARIANTS, seed: int = 0, x_not_mri: np.ndarray | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """(prepared images, source, group) of the negative library with ``per_source`` variants each, and of the
    training dataset's own images that are not brain MRI (:mod:`engine.data.not_brain_mri`) with a few each."""
    from engine.data.framing import reframe
    from engine.data.negatives import negatives, with_variants
    from engine.data.not_brain_mri import DATASET_VARIANTS, as_negatives
    from engine.data.pixels import prepare_pil

    items = with_variants(negatives(seed), per_source, seed)
    if x_not_mri is not None and len(x_not_mri):
        items += with_variants(as_negatives(x_not_mri), DATASET_VARIANTS, seed)
    x = np.stack([prepare_pil(reframe(n.image)[0], size, channels) for n in items])  # as the clinic reads an upload
    return x, [n.source for n in items], [n.group for n in items]


def inputs(feats: np.ndarray, x: np.ndarray) -> np.ndarray:
    """What the network reads: penultimate features beside layout statistics (intensity and edge histograms
    were measured too and generalised no better to left-out sources)."""
    return np.concatenate([feats, layout_stats(x)], axis=1)


def fit_network(pos: np.ndarray, neg: np.ndarray, seed: int = 0, members: int = CHECK_MEMBERS) -> dict:
    """``members`` networks of consecutive seeds whose log-odds :func:`scores` averages. Stored as plain arrays
    (JSON, no pickle): positive score = brain MRI."""
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the matrices are small, and two threads handing each tiny product back and forth made a fit
    # 1.5-4x slower on 2 cores (the refusal benchmark refits this 46 times).
    with threadpool_limits(limits=1):
        return {"members": [_fit_member(pos, neg, seed + i) for i in range(members)]}


def _fit_member(pos: np.ndarray, neg: np.ndarray, seed: int) -> dict:
    """Standardised inputs, one ReLU layer, a logistic output; negatives repeated to balance the classes. Weights
    are kept to 6 decimals (a third of the JSON; the threshold is fitted on the rounded network)."""
    from sklearn.neural_network import MLPClassifier

    repeat = max(1, len(pos) // max(1, len(neg)))
    data = np.concatenate([pos, np.repeat(neg, repeat, axis=0)])
    mean, scale = data.mean(axis=0), data.std(axis=0) + 1e-6
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg) * repeat)]
    net = MLPClassifier(hidden_layer_sizes=(HIDDEN_UNITS,), alpha=WEIGHT_DECAY, max_iter=200, random_state=seed).fit((data - mean) / scale, labels)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "hidden": {"weights": np.round(net.coefs_[0], 6).tolist(), "bias": np.round(net.intercepts_[0], 6).tolist()},
        "output": {"weights": np.round(net.coefs_[1][:, 0], 6).tolist(), "bias": round(float(net.intercepts_[1][0]), 6)},
    }


def scores(rows: np.ndarray, fitted: dict) -> np.ndarray:
    """Log-odds that each row is a brain MRI slice (negative: more likely not), averaged over the members; a check
    stored as one network (models shipped before 2026-12-04) is its own single member."""
    return np.mean([_member_scores(rows, m) for m in fitted.get("members", [fitted])], axis=0)


def _member_scores(rows: np.ndarray, net: dict) -> np.ndarray:
    z = (rows - np.asarray(net["mean"])) / np.asarray(net["scale"])
    h = np.maximum(z @ np.asarray(net["hidden"]["weights"]) + np.asarray(net["hidden"]["bias"]), 0)
    return h @ np.asarray(net["output"]["weights"]) + net["output"]["bias"]


def with_arrays(check: dict) -> dict:
    """The stored check with its JSON lists as arrays, converted once when a model's statistics are loaded
    (at every call they cost a few ms a scan); :func:`scores` reads either."""

    def net(n: dict) -> dict:
        return {
            **n,
            "mean": np.asarray(n["mean"]),
            "scale": np.asarray(n["scale"]),
            "hidden": {k: np.asarray(v) for k, v in n["hidden"].items()},
            "output": {"weights": np.asarray(n["output"]["weights"]), "bias": n["output"]["bias"]},
        }

    return {**check, "members": [net(m) for m in check["members"]]} if "members" in check else net(check)


def fit_doubt_line(heldout_scores: np.ndarray, quantile: float = CHECK_QUANTILE) -> float:
    """The score under which a scan is among the lowest ``quantile`` of held-out real scans (clean and shifted); 0
    when there are none to ask. Not a refusal on its own: one real scan in a hundred is there. With a second,
    independent doubt (far from the training scans, or a CT-like bone ring) it refuses (:func:`engine.clinic.gate.verdict`)."""
    if len(heldout_scores) == 0:
        return 0.0
    return float(np.quantile(heldout_scores, quantile))


def fit_threshold(heldout_scores: np.ndarray, quantile: float = CHECK_QUANTILE) -> float:
    """The lower of log-odds 0 and the doubt line: refusal needs "not a brain MRI" more likely, too."""
    return min(0.0, fit_doubt_line(heldout_scores, quantile))


def check_rows(
    features_of, x_train: np.ndarray, x_heldout: np.ndarray, seed: int = 0, not_mri: tuple | None = None, in_threshold: np.ndarray | None = None
) -> dict:
    """What the check is fitted from: positive rows (training scans, clean and shifted), negative rows with their
    sources, and held-out rows (clean and shifted) for the threshold. ``features_of(x)``: the model's
    penultimate features of prepared images; ``not_mri``: masks over ``x_train`` and ``x_heldout`` of the
    dataset's images that are not brain MRI (:mod:`engine.data.not_brain_mri`), learnt as negatives and never as
    scans; ``in_threshold``: the held-out scans whose scores set the threshold (default: all of them)."""
    m_train, m_held = not_mri or (np.zeros(len(x_train), dtype=bool), np.zeros(len(x_heldout), dtype=bool))
    scans = ~m_held if in_threshold is None else in_threshold & ~m_held
    if not scans.any():  # a tiny split whose threshold half holds only listed images: a threshold needs scans
        scans = ~m_held
    x_not_mri = np.concatenate([x_train[m_train], x_heldout[m_held]])
    x_train, x_heldout = x_train[~m_train], x_heldout[scans]
    size, channels = x_train.shape[1], x_train.shape[3]
    shifted_train = shifted_arrays(x_train, SHIFTED_TRAIN_SCANS, seed)
    x_neg, sources, groups = negative_arrays(size, channels, seed=seed, x_not_mri=x_not_mri)
    held = np.concatenate([x_heldout, shifted_arrays(x_heldout, SHIFTED_HELDOUT_SCANS, seed + 1)])
    return {
        "pos": np.concatenate([inputs(features_of(x_train), x_train), inputs(features_of(shifted_train), shifted_train)]),
        "neg": inputs(features_of(x_neg), x_neg),
        "neg_sources": np.array(sources),
        "neg_groups": np.array(groups),
        "heldout": inputs(features_of(held), held),
    }


def fit_from_rows(rows: dict, leave_out: str | None = None, leave_out_group: str | None = None) -> dict:
    """The fitted check; ``leave_out``: a negative source, ``leave_out_group``: a whole group of them, it must not
    learn from (to test it on what it never saw)."""
    keep = rows["neg_sources"] != leave_out
    if leave_out_group is not None:
        keep &= rows["neg_groups"] != leave_out_group
    fitted = fit_network(rows["pos"], rows["neg"][keep])
    heldout = scores(rows["heldout"], fitted)
    fitted["threshold"] = fit_threshold(heldout)
    fitted["doubt_below"] = fit_doubt_line(heldout)
    fitted["quantile"] = CHECK_QUANTILE
    fitted["negative_sources"] = sorted(set(rows["neg_sources"][keep].tolist()))
    return fitted


def fit_mri_check(
    features_of, x_train: np.ndarray, x_heldout: np.ndarray, seed: int = 0, not_mri: tuple | None = None, in_threshold: np.ndarray | None = None
) -> dict:
    """The check for one model, fitted on its training scans and (for the threshold) held-out ones; the
    arguments are :func:`check_rows`'s."""
    return fit_from_rows(check_rows(features_of, x_train, x_heldout, seed, not_mri, in_threshold))
