"""Accuracy levers of #12 on all five cross-validation folds, on a borrowed GPU, in plain PyTorch.

Why plain PyTorch: the GPU machine has PyTorch but not TensorFlow, and Keras on its PyTorch backend trained the
compact network at 163 ms a step there (docs/model.md, "A borrowed GPU"): per-operation overhead on the host, most
of it in the three Keras augmentation layers that each resample the image. Here the network, optimiser, schedule
and augmentation of the shipped recipe are written again in PyTorch: the scans stay on the GPU, one affine
resampling does flip, rotation, zoom and shift together, and the step runs in bfloat16.

This is a port, not the shipped code, so its figures compare recipes with each other (paired on the same folds),
and the "base" recipe, the shipped one, says how far the port is from `benchmark cv` (98.32%). The folds, inner
splits and pixels are exactly those of `benchmark cv` (exported by `gpu_cv_export.py`).

Each job, one (recipe, fold) in a process of its own, saves its fold's test and inner-validation logits, read once
and as the shipped model reads (in a thin black rim, averaged with the mirror image). Out: results.npz and log.txt.

    python docs/experiments/gpu_torch_cv.py .gpu OUT --deadline 460 --workers 14
    python docs/experiments/gpu_torch_cv.py .gpu OUT --epochs-cap 1 --workers 2   # a smoke test on a CPU
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import gpu_jobs  # docs/experiments/gpu_jobs.py, beside this script
import numpy as np

# Knobs over the shipped recipe (30 epochs, width 1, batch 32, AdamW 2e-3 with 2 warm-up epochs then cosine to 1%,
# weight decay 1e-4, label smoothing 0.05, seed 42 + fold), in the order the jobs start.
RECIPES = {
    "base": {},
    "epochs60": {"epochs": 60},
    "width1.5-epochs60": {"width": 1.5, "epochs": 60},
    "width2-epochs60": {"width": 2.0, "epochs": 60},
    "mixup-epochs60": {"epochs": 60, "mixup": 0.2},
    "width3-epochs60": {"width": 3.0, "epochs": 60},  # a capacity ceiling: too big to ship (~10.6 M parameters)
    "width1.5-epochs60-seed2": {"width": 1.5, "epochs": 60, "seed_offset": 100},
    "base-seed2": {"seed_offset": 100},  # the noise floor of a paired comparison; with base, an ensemble of two
}
BATCH, PEAK_LR, WARMUP_EPOCHS, WEIGHT_DECAY, SMOOTHING, SEED = 32, 2e-3, 2, 1e-4, 0.05, 42
RIM_SCALE = 0.94  # engine.ml.test_time.RIM_SCALE


def compact(width: float):
    """engine.ml.models.build_compact without its augmentation block: the same layers, initialisers and BatchNorm
    settings (Keras momentum 0.9 is PyTorch's 0.1; Keras' epsilon 1e-3)."""
    from torch import nn

    def conv(cin, cout, kernel=3, stride=1):
        layer = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2 if stride == 1 else (kernel - 1) // 2, bias=False)
        std = math.sqrt(2 / (cin * kernel * kernel))  # he_normal: truncated at two deviations
        nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
        return [layer, nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1), nn.ReLU(inplace=True)]

    filters = [round(f * width) for f in (32, 64, 128, 256)]
    layers, cin = conv(1, filters[0], kernel=5, stride=2), filters[0]
    for stage, cout in enumerate(filters):
        layers += conv(cin, cout) + conv(cout, cout)
        cin = cout
        if stage < 3:
            layers.append(nn.MaxPool2d(2))
    head = nn.Linear(cin, 4)
    nn.init.xavier_uniform_(head.weight)  # Keras' glorot_uniform
    nn.init.zeros_(head.bias)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), head)


def augment(x, gen):
    """The shipped augmentation in one resampling: mirror at random, rotate by up to 0.05 of a turn, zoom by up to
    10% either way, shift by up to 5% of each side (black fill), then contrast by 0.85-1.15 around each scan's mean."""
    import torch
    import torch.nn.functional as F

    n, dev = len(x), x.device

    def uniform(low, high):
        return torch.rand(n, device=dev, generator=gen) * (high - low) + low

    flip = torch.where(torch.rand(n, device=dev, generator=gen) < 0.5, -1.0, 1.0)
    angle = uniform(-0.05, 0.05) * 2 * math.pi
    scale = 1 + uniform(-0.1, 0.1)  # positive: zoomed out (Keras' sign)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, uniform(-0.1, 0.1)], 1), torch.stack([sin * flip, cos, uniform(-0.1, 0.1)], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mean = x.mean(dim=(2, 3), keepdim=True)
    return ((x - mean) * uniform(0.85, 1.15)[:, None, None, None] + mean).clamp_(min=0.0)


def learning_rate(step: int, total: int, warmup: int) -> float:
    """engine.ml.phases.keras_schedule: linear warm-up from a twentieth of the peak, then cosine to 1% of it."""
    if step < warmup:
        return PEAK_LR / 20 + (PEAK_LR - PEAK_LR / 20) * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return PEAK_LR * (0.99 * 0.5 * (1 + math.cos(math.pi * progress)) + 0.01)


def rimmed(x, scale: float = RIM_SCALE):
    """engine.ml.test_time.rimmed on a float batch (n, 1, h, w): shrunk (bilinear, antialiased as PIL is) and
    centred on black."""
    import torch
    import torch.nn.functional as F

    h, w = x.shape[2:]
    sh, sw = round(h * scale), round(w * scale)
    out = torch.zeros_like(x)
    top, left = (h - sh) // 2, (w - sw) // 2
    out[:, :, top : top + sh, left : left + sw] = F.interpolate(x, size=(sh, sw), mode="bilinear", antialias=True, align_corners=False)
    return out


def train_job(data: Path, work: Path, recipe: str, fold: int, epochs_cap: int) -> None:
    import torch
    import torch.nn.functional as F

    knobs = RECIPES[recipe]
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    seed = SEED + knobs.get("seed_offset", 0) + fold - 1
    torch.manual_seed(seed)
    gen = torch.Generator(device=dev).manual_seed(seed)
    splits = np.load(data / "splits.npz")
    y_all = splits["y"]
    train_idx, val_idx, test_idx = (splits[f"{part}_{fold}"] for part in ("train", "val", "test"))
    epochs = knobs.get("epochs", 30)
    if epochs_cap:  # a smoke test: every tenth scan (the indices are sorted, and so by class)
        train_idx, val_idx, test_idx, epochs = train_idx[::10], val_idx[::10], test_idx[::10], min(epochs, epochs_cap)
    x = torch.from_numpy(np.array(gpu_jobs.load_x(data))).to(dev).permute(0, 3, 1, 2)  # uint8 (n, 1, h, w)
    y = torch.from_numpy(y_all).to(dev)
    model = compact(knobs.get("width", 1.0)).to(dev).to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, weight_decay=WEIGHT_DECAY, eps=1e-7, fused=dev.type == "cuda")
    train_t = torch.from_numpy(train_idx).to(dev)
    steps = math.ceil(len(train_idx) / BATCH)
    total, warmup = epochs * steps, min(epochs * steps // 2, WARMUP_EPOCHS * steps)
    mixup = knobs.get("mixup", 0.0)
    beta = torch.distributions.Beta(torch.tensor(mixup or 1.0, device=dev), torch.tensor(mixup or 1.0, device=dev))
    eye = torch.eye(4, device=dev)
    t0, step, accuracy = time.monotonic(), 0, []
    for epoch in range(epochs):
        model.train()
        order = train_t[torch.randperm(len(train_t), device=dev, generator=gen)]
        correct = 0
        for s in range(steps):
            idx = order[s * BATCH : (s + 1) * BATCH]
            xb, target = x[idx].float() / 255, eye[y[idx]]
            if mixup:  # pairs blended by a Beta share, the first scan always dominant; labels alike
                other = torch.randperm(len(idx), device=dev, generator=gen)
                lam = beta.sample((len(idx),))
                lam = torch.maximum(lam, 1 - lam)
                xb = lam[:, None, None, None] * xb + (1 - lam[:, None, None, None]) * xb[other]
                target = lam[:, None] * target + (1 - lam[:, None]) * target[other]
            xb = augment(xb, gen).contiguous(memory_format=torch.channels_last)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(step, total, warmup)
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                logits = model(xb)
            target = target * (1 - SMOOTHING) + SMOOTHING / 4
            loss = -(target * F.log_softmax(logits.float(), dim=1)).sum(1).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            correct += (logits.argmax(1) == y[idx]).sum()
            step += 1
        accuracy.append(float(correct) / len(train_idx))
        if epoch in (0, 9) or epoch % 20 == 19:
            print(f"{recipe} fold {fold} epoch {epoch + 1}/{epochs} {time.monotonic() - t0:.0f} s, training accuracy {accuracy[-1]:.4f}", flush=True)
    seconds = time.monotonic() - t0
    model.eval()

    @torch.no_grad()
    def logits_of(batch):
        return torch.cat([model(batch[i : i + 512].contiguous(memory_format=torch.channels_last)).float() for i in range(0, len(batch), 512)]).cpu().numpy()

    out = {"seconds": np.array(seconds), "ms_per_step": np.array(1000 * seconds / max(1, step)), "train_accuracy": np.array(accuracy)}
    for part, idx in (("test", test_idx), ("val", val_idx)):
        scans = x[torch.from_numpy(idx).to(dev)].float() / 255
        framed = rimmed(scans)
        out[f"plain_{part}"] = logits_of(scans)
        out[f"read_{part}"] = (logits_of(framed) + logits_of(framed.flip(3))) / 2
        out[f"y_{part}"], out[f"idx_{part}"] = y_all[idx], idx
    folder = work / recipe / f"fold-{fold}"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "result.npz", **out)
    errors = int((out["read_test"].argmax(1) != out["y_test"]).sum())
    print(f"{recipe} fold {fold} done: {seconds:.0f} s, {out['ms_per_step']:.1f} ms a step, {errors}/{len(test_idx)} errors read as shipped", flush=True)


def pack(work: Path, out: Path, recipes: list[str], say) -> None:
    """Every job's result into OUT/results.npz (keys RECIPE/fold-K/NAME), and each recipe's errors into the log."""
    gpu_jobs.pack_results(work, out)
    for recipe in recipes:
        rows = sorted(work.glob(f"{recipe}/fold-*/result.npz"))
        if rows:
            loaded = [np.load(r) for r in rows]
            errors = sum(int((r["read_test"].argmax(1) != r["y_test"]).sum()) for r in loaded)
            n = sum(len(r["y_test"]) for r in loaded)
            say(f"{recipe}: {len(rows)} folds, {errors}/{n} errors read as shipped ({100 * (1 - errors / n):.2f}%)")


def main() -> None:
    args = gpu_jobs.arguments(RECIPES, deadline=460, workers=14)
    work = Path("/tmp/gpu-torch-cv")
    if args.job:
        import torch

        torch.set_num_threads(1)
        torch.backends.cudnn.benchmark = True
        train_job(args.data, work, args.job[0], int(args.job[1]), args.epochs_cap)
    else:  # recipe by recipe: at the deadline the first recipes have all five folds
        say = gpu_jobs.run_jobs(__file__, args, [(r, k) for r in args.recipes for k in args.folds])
        pack(work, args.out, args.recipes, say)


if __name__ == "__main__":
    main()
