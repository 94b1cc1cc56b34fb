"""Cache what the shipped brain-MRI check is fitted from (its model's features and the grey images), for
check_inputs_screen.py: training scans clean and shifted, the threshold half of the validation split, the other half
(never used for fitting) clean and shifted, the negative library (12 views a source, seed 0; 4 views, seed 1), and
the InVesalius head CT slices at four windows (HEAD_CT: a folder of PNGs named WINDOW-LEVEL.png, made from the
project's matrix.dat as in extract_registry_images.py: windows wide -18/406, brain 40/80, soft 50/350, bone
400/1800; levels 10, 18, ..., 106).

    .venv/bin/python docs/experiments/check_inputs_rows.py /tmp/rows.npz [HEAD_CT]
"""

import glob
import sys
import time

import numpy as np
from PIL import Image

from engine.data import datasets
from engine.data.framing import reframe
from engine.data.not_brain_mri import not_brain_mri
from engine.data.pixels import prepare_pil
from engine.data.preprocess import read_prepared
from engine.hdfs.storage import Storage
from engine.ml.inference import load_model
from engine.ml.mri_check import negative_arrays, shifted_arrays, threshold_half
from engine.ml.ood import features_of, validation_paths
from engine.settings import get_settings

t0 = time.time()
settings = get_settings()
storage = Storage(settings)
loaded = load_model(settings, storage, None)
x, y, paths = read_prepared(storage, loaded.card["training"]["dataset"], loaded.size)
val = set(validation_paths(settings, storage, loaded, paths, y))
is_val = np.array([p in val for p in paths])
nm = not_brain_mri(datasets.read_manifest(storage, loaded.card["training"]["dataset"]), paths)
vpaths = [p for p, v in zip(paths, is_val) if v]
half = threshold_half(vpaths)
nm_t, nm_h = nm[~is_val], nm[is_val]
x_train, x_held_all = x[~is_val], x[is_val]
x_not_mri = np.concatenate([x_train[nm_t], x_held_all[nm_h]])
x_tr = x_train[~nm_t]
x_he = x_held_all[half & ~nm_h]
x_unseen = x_held_all[~half & ~nm_h]  # never set a threshold: false-refusal estimate
size, ch = x.shape[1], x.shape[3]
print("arrays", x_tr.shape, x_he.shape, x_unseen.shape, time.time() - t0, flush=True)
sh_tr = shifted_arrays(x_tr, 300, 0)
sh_he = shifted_arrays(x_he, 150, 1)
sh_un = shifted_arrays(x_unseen, 150, 2)
x_neg, src, grp = negative_arrays(size, ch, seed=0, x_not_mri=x_not_mri)
x_neg1, src1, grp1 = negative_arrays(size, ch, per_source=4, seed=1)
print("shifted/neg", sh_tr.shape, x_neg.shape, x_neg1.shape, time.time() - t0, flush=True)
ct_files = sorted(glob.glob(f"{sys.argv[2] if len(sys.argv) > 2 else '/tmp/invx/slices'}/*.png"))
x_ct = np.stack([prepare_pil(reframe(Image.open(f).convert("L"))[0], size, ch) for f in ct_files])
run = features_of(loaded.model)
out = {}
for name, arr in [
    ("pos", np.concatenate([x_tr, sh_tr])),
    ("held", np.concatenate([x_he, sh_he])),
    ("unseen", np.concatenate([x_unseen, sh_un])),
    ("neg", x_neg),
    ("neg1", x_neg1),
    ("ct", x_ct),
]:
    out[f"f_{name}"] = run(arr)
    out[f"g_{name}"] = arr.mean(axis=-1).astype(np.uint8)
    print(name, arr.shape, time.time() - t0, flush=True)
out["n_unseen_clean"] = len(x_unseen)
out["n_train_clean"] = len(x_tr)
np.savez_compressed(sys.argv[1], src=np.array(src), grp=np.array(grp), src1=np.array(src1), grp1=np.array(grp1), ct_files=np.array(ct_files), **out)
print("done", time.time() - t0)
