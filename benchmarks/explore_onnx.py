"""Explore ONNX Runtime as a faster inference engine for LIME (not part of `make setup`).

Usage: pip install onnxruntime==1.32.0 tf2onnx==1.17.0 onnx==1.23.2 (into a scratch target, e.g.
`pip install --no-deps --target /tmp/ortlib ...` and `PYTHONPATH=/tmp/ortlib`), then
`python benchmarks/explore_onnx.py`. For each offline stand-in classifier (the backbone with the
study's head, untrained head: speed and agreement do not depend on training) it exports the model
with Keras 3's `model.export(format="onnx")`, runs 4 batches of 50 random 0..255 images through
TensorFlow (one compiled function) and through an ONNX Runtime CPU session with 2 threads, and
prints images/s for both and the largest difference between their class probabilities. Keras
leaves the MobileNetV2 stand-in's normalisation constants as graph inputs; they are fed with the
layer's own values. The result is in benchmarks/README.md.
"""
import os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np


def main(batch: int = 50, repeats: int = 4):
    import tensorflow as tf
    import onnxruntime as ort
    from osteo_nb.config import StudyConfig
    from osteo_nb.models import build_classifier
    from osteo_nb.weights import _TORCHVISION_MEAN, _TORCHVISION_STD, resolve_backbones
    x = np.random.default_rng(0).uniform(0, 255, (batch, 224, 224, 3)).astype(np.float32)
    constants = {"Sub/y": 255 * np.asarray(_TORCHVISION_MEAN, np.float32), "Sqrt/x": (255 * np.asarray(_TORCHVISION_STD, np.float32)) ** 2}
    for role, spec in resolve_backbones("offline", "MobileNetV3Large").items():
        m = build_classifier(spec, StudyConfig())
        f = tf.function(lambda t: m(t, training=False), input_signature=[tf.TensorSpec((None, 224, 224, 3), tf.float32)])
        f(x); t = time.perf_counter()
        for _ in range(repeats): y_tf = f(x).numpy()
        tf_rate = repeats * batch / (time.perf_counter() - t)
        path = f"/tmp/osteo_{role}.onnx"; m.export(path, format="onnx", verbose=False)
        so = ort.SessionOptions(); so.intra_op_num_threads = 2
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        feed = {i.name: x if n == 0 else next(v for k, v in constants.items() if k in i.name).reshape(1, 1, 1, 3)
                for n, i in enumerate(s.get_inputs())}
        s.run(None, feed); t = time.perf_counter()
        for _ in range(repeats): y_ort = s.run(None, feed)[0]
        ort_rate = repeats * batch / (time.perf_counter() - t)
        print(f"{role} ({spec.arch}): TensorFlow {tf_rate:.1f} images/s, ONNX Runtime {ort_rate:.1f} images/s, "
              f"largest probability difference {np.abs(y_tf - y_ort).max():.3g}", flush=True)


if __name__ == "__main__": main()
