"""Inference engines for LIME's perturbation batches: images/s and agreement with TensorFlow.

Usage: python benchmarks/bench_engines.py [--batch 50] [--repeats 4]
For each offline stand-in classifier (the backbone with the study's head; speed and agreement do
not depend on training), 50 random 0..255 images per batch go through: TensorFlow (one compiled
function, what `lime_engine="tensorflow"` runs), OpenVINO in f32 (`xai.batch_predictor(...,
engine="openvino")`, the default), and, if `onnxruntime` and `tf2onnx` are importable (they are
not installed by `make setup`), Keras 3's ONNX export run by ONNX Runtime. Prints images/s and the
largest difference from TensorFlow's softmax. The latest output is in benchmarks/README.md.
"""
import os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from fastcore.script import call_parse


def _rate(fn, x, repeats):
    fn(x); t = time.perf_counter()
    for _ in range(repeats): y = fn(x)
    return repeats * len(x) / (time.perf_counter() - t), y


def _onnxruntime(m, batch):
    "Keras's ONNX export in an ONNX Runtime session (2 threads); the stand-in's normalisation constants become inputs."
    import onnxruntime as ort
    from osteo_nb.weights import TORCHVISION_MEAN, TORCHVISION_STD
    path = f"/tmp/osteo_{m.name}.onnx"; m.export(path, format="onnx", verbose=False)
    so = ort.SessionOptions(); so.intra_op_num_threads = 2
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    const = {"Sub/y": 255 * np.asarray(TORCHVISION_MEAN, np.float32), "Sqrt/x": (255 * np.asarray(TORCHVISION_STD, np.float32)) ** 2}
    extra = {i.name: next(v for k, v in const.items() if k in i.name).reshape(1, 1, 1, 3) for i in s.get_inputs()[1:]}
    first = s.get_inputs()[0].name
    return lambda x: s.run(None, {first: x, **extra})[0]


@call_parse
def main(batch: int = 50, # images per batch (the study's predict_batch)
         repeats: int = 4 # timed batches per engine
        ):
    "Images/s of each engine and its largest softmax difference from TensorFlow."
    import platform
    from osteo_nb.config import StudyConfig
    from osteo_nb.models import build_classifier
    from osteo_nb.weights import resolve_backbones
    from osteo_nb.xai import batch_predictor
    x = np.random.default_rng(0).uniform(0, 255, (batch, 224, 224, 3)).astype(np.float32)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; batch {batch}, {repeats} timed batches")
    for role, spec in resolve_backbones("offline", "MobileNetV3Large").items():
        m = build_classifier(spec, StudyConfig())
        engines = {e: batch_predictor([m], batch, engine=e) for e in ("tensorflow", "openvino")}
        try: engines["onnxruntime (keras export)"] = _onnxruntime(m, batch)
        except ImportError: pass
        res = {e: _rate(f, x, repeats) for e, f in engines.items()}
        ref = res["tensorflow"][1]
        print(f"{role} ({spec.arch}): " + "; ".join(f"{e} {r:.1f} images/s, max |p - p_tf| {np.abs(y - ref).max():.2g}" for e, (r, y) in res.items()), flush=True)
