"""Model benchmark: training and inference images/s for each backbone, frozen and fine-tuned, on this machine.

Usage: python benchmarks/bench_models.py [--backbones offline|paper|auto] [--batches 6] [--batch_size 32]
Synthetic 224x224 inputs (speed does not depend on content); the paper's augmentation is applied in training.
Prints one line per measurement; the latest output is kept in benchmarks/README.md.
"""
import os, platform, time

from fastcore.script import call_parse

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rate(step, batches, batch_size):
    step()  # warm-up: graph tracing
    t = time.perf_counter()
    for _ in range(batches): step()
    return batches * batch_size / (time.perf_counter() - t)


@call_parse
def main(backbones: str = "offline", # offline, paper or auto (see weights.resolve_backbones)
         batches: int = 6, # timed batches per measurement
         batch_size: int = 32 # images per batch
        ):
    "Training and inference images/s for each backbone, frozen and fine-tuned."
    import numpy as np, tensorflow as tf, keras
    from osteo_nb.config import StudyConfig
    from osteo_nb.dataset import from_arrays
    from osteo_nb.models import build_classifier, seed_everything
    from osteo_nb.weights import resolve_backbones
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, GPUs: {len(tf.config.list_physical_devices('GPU'))}, TF {tf.__version__}")
    x = np.random.default_rng(0).integers(0, 256, (batch_size, 224, 224), dtype=np.uint8)
    y = np.arange(batch_size) % 2
    for fine_tune in (False, True):
        cfg = StudyConfig(batch_size=batch_size, fine_tune=fine_tune)
        batch = next(iter(from_arrays(x, y, cfg, training=True)))
        for role, spec in resolve_backbones(backbones, cfg.train.mobilenet).items():
            seed_everything(0)
            m = build_classifier(spec, cfg)
            m.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", jit_compile=False)
            train = rate(lambda: m.train_on_batch(*batch), batches, batch_size)
            infer = rate(lambda: m.predict_on_batch(batch[0]), batches, batch_size)
            mode = "fine-tuned" if fine_tune else "frozen"
            print(f"{spec.arch:18s} {mode:10s} train {train:7.1f} images/s   inference {infer:7.1f} images/s")

