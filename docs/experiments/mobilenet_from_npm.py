"""ImageNet features without the internet: the MobileNetV2 base inside the npm package nsfwjs, as Keras weights.

Pretrained ImageNet weights cannot be downloaded on this project's machines (only the package registries answer),
and every lever measured on the compact network stops near 98.7% (docs/model.md). nsfwjs 4.4.0 (MIT) ships, as
JavaScript, a Keras 2.2.4 MobileNetV2 (alpha 1.0) exported to TensorFlow.js with 8-bit weights. Its model.json
marks blocks 0-10 frozen (``trainable: false``): those are Keras' own ImageNet weights; blocks 11-16 and the head
were fine-tuned on its 5 photo classes. This script takes the base (everything up to ``out_relu``), dequantises
it (value = byte x scale + min, per tensor) and saves it as a Keras ``.weights.h5`` of
``keras.applications.MobileNetV2(include_top=False)``, which ``--arch mobilenetv2 --weights PATH`` loads.

    npm pack nsfwjs@4.4.0 && tar xzf nsfwjs-4.4.0.tgz
    .venv/bin/python docs/experiments/mobilenet_from_npm.py package/dist/models/mobilenet_v2 OUT.weights.h5

Needs node (it evaluates the package's two JavaScript modules, which hold a JS object and a base64 string).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

DUMP = """
const m = require(process.argv[1] + '/model.min.js');
const s = require(process.argv[1] + '/group1-shard1of1.min.js');
process.stdout.write(JSON.stringify({manifest: m.weightsManifest, frozen: m.modelTopology.model_config.config.layers
  .filter(l => l.config.trainable === false).map(l => l.name), shard: s}));
"""


def read_package(folder: Path) -> tuple[dict[str, np.ndarray], set[str]]:
    """{weight name: float32 array} and the names of the layers the package marks frozen."""
    out = subprocess.run(["node", "-e", DUMP, str(folder.resolve())], check=True, capture_output=True, text=True).stdout
    dump = json.loads(out)
    raw = np.frombuffer(base64.b64decode(dump["shard"]), dtype=np.uint8)
    weights, offset = {}, 0
    for spec in dump["manifest"][0]["weights"]:
        n = int(np.prod(spec["shape"]))
        q = spec["quantization"]
        assert q["dtype"] == "uint8", q
        weights[spec["name"]] = (raw[offset : offset + n].astype(np.float32) * q["scale"] + q["min"]).reshape(spec["shape"])
        offset += n
    assert offset == raw.size, (offset, raw.size)
    return weights, set(dump["frozen"])


def main() -> int:
    folder, target = Path(sys.argv[1]), Path(sys.argv[2])
    weights, frozen = read_package(folder)
    import keras

    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(128, 128, 3))
    used, frozen_used = 0, 0
    for layer in base.layers:
        for var in layer.weights:
            # Keras 3 calls a depthwise kernel "kernel"; Keras 2 (the package) called it "depthwise_kernel"
            part = "depthwise_kernel" if isinstance(layer, keras.layers.DepthwiseConv2D) else var.name
            name = f"{layer.name}/{part}"
            if name not in weights:
                raise SystemExit(f"{name} is not in the package")
            var.assign(weights[name])
            used += 1
            frozen_used += layer.name in frozen
    base.save_weights(target)
    print(json.dumps({"tensors_in_package": len(weights), "tensors_loaded": used, "from_frozen_imagenet_layers": frozen_used, "saved": str(target)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
