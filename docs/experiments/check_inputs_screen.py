"""Screen extra inputs for the brain-MRI check (2026-12-04, docs/model.md "Inputs measured for the head CT hole").

Reads the rows cached by check_inputs_rows.py and, for each variant, fits the check (``MEMBERS`` networks) and
reports: its threshold; the unseen real scans (half of the validation split that set no threshold, clean and
shifted) it refuses; every group of the library refitted without it; with ``--sources``, every source of the other
modalities refitted without it; the InVesalius head CT slices (four windows, 13 levels each). ``--with-ct`` puts the
head CT's four wide-window levels into the library as one more CT source, and reports them left out again. The check
alone is scored, not the whole gate, so its figures run a point or two under `benchmark refusal`'s.

    .venv/bin/python docs/experiments/check_inputs_rows.py /tmp/rows.npz      # ~3 min; needs the head CT slices
    .venv/bin/python docs/experiments/check_inputs_screen.py /tmp/rows.npz base,base+ring,base+texture,base+knn 1
    .venv/bin/python docs/experiments/check_inputs_screen.py /tmp/rows.npz base 1 --sources --quantile 0.01
"""

import sys
import time

import numpy as np
from scipy import ndimage

from engine.ml.layout import layout_stats
from engine.ml.mri_check import fit_network, fit_threshold, scores


def _head(im: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The largest bright component, filled, and each of its pixels' distance to its edge."""
    mask = ndimage.binary_fill_holes(ndimage.binary_opening(im > 0.1, iterations=1))
    lab, n = ndimage.label(mask)
    if n == 0:
        return None
    mask = lab == (np.argmax(ndimage.sum(mask, lab, range(1, n + 1))) + 1)
    return mask, ndimage.distance_transform_edt(mask)


def _per_head(g: np.ndarray, width: int, one) -> np.ndarray:
    """``one(image, head mask, distance to its edge)`` of each grey image; zeros where no head is found."""
    out = []
    for im in g.astype(np.float32) / 255.0:
        head = _head(im)
        out.append(np.zeros(width, np.float32) if head is None else one(im, *head))
    return np.stack(out)


def ring(g: np.ndarray) -> np.ndarray:
    """Radial profile inwards from the head's edge against the interior's median: MRI has a dark skull band under a
    bright scalp, CT a bright bone ring straight against grey brain. Plus the bright share of the outer 8 px."""

    def one(im: np.ndarray, mask: np.ndarray, dist: np.ndarray) -> np.ndarray:
        inner = dist > max(12.0, 0.4 * dist.max())
        ref = float(np.median(im[inner])) if inner.any() else float(im[mask].mean())
        bands = [(dist > a) & (dist <= a + 2) for a in range(0, 16, 2)]
        prof = [float(im[b].mean()) - ref if b.any() else 0.0 for b in bands]
        shell = (dist > 0) & (dist <= 8)
        bright = float((im[shell] > 0.8).mean()) if shell.any() else 0.0
        return np.array([*prof, bright, float((im[mask] > 0.95).mean()), min(prof[2:]) - prof[0]], np.float32)

    return _per_head(g, 11, one)


def texture(g: np.ndarray) -> np.ndarray:
    """The head interior's spread and gradients: brain tissue is flat on CT at a wide window, textured on MRI."""

    def one(im: np.ndarray, _: np.ndarray, dist: np.ndarray) -> np.ndarray:
        inner = dist > max(12.0, 0.4 * dist.max())
        if inner.sum() < 20:
            inner = dist > 0.5 * dist.max()
        v = im[inner]
        gy, gx = np.gradient(ndimage.gaussian_filter(im, 0.7))
        gm = np.hypot(gx, gy)[inner]
        q10, q90 = np.percentile(v, [10, 90])
        return np.array([v.std(), q90 - q10, gm.mean(), np.median(gm), (gm > 0.05).mean()], np.float32)

    return _per_head(g, 5, one)


def knn(f: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Cosine distance to the 3rd-12th nearest training scans (the first two skipped: a shifted copy's own scan)."""
    f = f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-8)
    out = []
    for i in range(0, len(f), 512):
        part = -np.sort(-(f[i : i + 512] @ bank.T), axis=1)[:, 2:12]
        out.append(np.c_[1 - part.mean(1), 1 - part[:, 0]])
    return np.concatenate(out).astype(np.float32)


def _arg(flag: str, default: str) -> str:
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


def main() -> None:
    d = np.load(sys.argv[1])
    variants, members = sys.argv[2].split(","), int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 1
    with_ct = "--with-ct" in sys.argv
    n_train = int(d["n_train_clean"]) if "n_train_clean" in d else 5095
    bank = d["f_pos"][:n_train] / (np.linalg.norm(d["f_pos"][:n_train], axis=1, keepdims=True) + 1e-8)
    cache: dict = {}

    def rows(name: str, variant: str) -> np.ndarray:
        if (name, variant) not in cache:
            parts = [d[f"f_{name}"], layout_stats(d[f"g_{name}"])]
            for extra in variant.split("+")[1:]:
                parts.append(knn(d[f"f_{name}"], bank) if extra == "knn" else {"ring": ring, "texture": texture}[extra](d[f"g_{name}"]))
            cache[(name, variant)] = np.concatenate(parts, axis=1)
        return cache[(name, variant)]

    src, grp, src1, grp1 = d["src"], d["grp"], d["src1"], d["grp1"]
    ct_files = [str(f) for f in d["ct_files"]]
    ct_wide = np.array(["wide" in f for f in ct_files])
    ct_pick = np.array([("wide" in f and int(f[-7:-4]) in (34, 50, 66, 82)) for f in ct_files])
    n_clean = int(d["n_unseen_clean"])

    quantile = float(_arg("--quantile", "0.002"))
    for variant in variants:
        t0 = time.time()
        pos, held, unseen, neg, neg1, ct = (rows(n, variant) for n in ("pos", "held", "unseen", "neg", "neg1", "ct"))
        src_v, grp_v = src, grp
        if with_ct:  # the head CT's four wide-window levels as one more CT source (three copies each, like views)
            neg = np.concatenate([neg, np.repeat(ct[ct_pick], 3, axis=0)])
            src_v = np.r_[src, ["invesalius"] * (3 * ct_pick.sum())]
            grp_v = np.r_[grp, ["ct"] * (3 * ct_pick.sum())]

        def fit(keep: np.ndarray, pos=pos, neg=neg, held=held) -> dict:
            f = fit_network(pos, neg[keep], members=members)
            f["threshold"] = fit_threshold(scores(held, f), quantile)
            return f

        def head_ct(f: dict, ct=ct) -> str:
            s = scores(ct, f) < f["threshold"]
            return f"head CT refused: wide window {s[ct_wide].sum()}/{ct_wide.sum()}, other windows {s[~ct_wide].sum()}/{(~ct_wide).sum()}"

        full = fit(np.ones(len(neg), bool))
        su = scores(unseen, full) < full["threshold"]
        lines = [
            f"{variant}{' +ct' if with_ct else ''} (quantile {quantile}): threshold {full['threshold']:.2f}; unseen real scans refused {su[:n_clean].mean():.2%} "
            f"as they are, {su[n_clean:].mean():.2%} shifted; {head_ct(full)}"
        ]
        total, n = 0, 0
        per = []
        for g in sorted(set(grp1)):
            f = fit(grp_v != g)
            r = int((scores(neg1[grp1 == g], f) < f["threshold"]).sum())
            total, n = total + r, n + int((grp1 == g).sum())
            per.append(f"{g} {r}/{(grp1 == g).sum()}" + (f" [CT left out: {head_ct(f)}]" if g == "ct" else ""))
        lines.append(f"  group left out {total}/{n} ({total / n:.1%}): " + ", ".join(per))
        if "--sources" in sys.argv:
            by: dict[str, list[int]] = {}
            for s_ in sorted(set(src1[np.isin(grp1, ["ct", "us", "nm", "xray", "mr-other"])])):
                f = fit(src_v != s_)
                a = by.setdefault(str(grp1[src1 == s_][0]), [0, 0])
                a[0] += int((scores(neg1[src1 == s_], f) < f["threshold"]).sum())
                a[1] += int((src1 == s_).sum())
            tr, tn = sum(v[0] for v in by.values()), sum(v[1] for v in by.values())
            lines.append(f"  source left out {tr}/{tn} ({tr / tn:.1%}): " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in by.items()))
        if with_ct:
            f = fit(src_v != "invesalius")
            lines.append(f"  the head CT left out: threshold {f['threshold']:.2f}; {head_ct(f)}")
        lines.append(f"  ({time.time() - t0:.0f} s)")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
