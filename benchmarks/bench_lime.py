"""LIME speed: lime as usually called versus `osteo_nb.xai`, on the same real images and classifiers.

Usage: python benchmarks/bench_lime.py --data ../shared/data/knee-xray-pool --n 3 --samples 1000
For each backbone of `--backbones` (the classifier: the backbone with the study's head, seeded; the
speed and the sameness of the masks do not depend on training), prints seconds per explanation for
lime's `explain_instance` with its defaults and `model.predict` as the classifier (batch_size=10),
for ours (`xai.explain`, one model, and both models in one call), the ratio, the model's raw
inference rate through the same compiled predictor (the floor: num_samples / that rate), and
whether the top-5 masks are identical and how far the superpixel weights differ. The latest
output is kept in benchmarks/README.md.
"""
import os, platform, tempfile, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from fastcore.script import call_parse


@call_parse
def main(data: str = "../shared/data/knee-xray-pool", # a data folder with class sub-folders
         n: int = 3, # images (the first n osteoporosis files, sorted by name)
         samples: int = 1000, # LIME samples per explanation
         backbones: str = "offline" # `StudyConfig.backbones`
        ):
    "Seconds per LIME explanation: lime's usual call versus ours, with the inference floor and mask agreement."
    import keras
    from lime import lime_image
    from osteo_nb.config import StudyConfig
    from osteo_nb.data import find_class_root, read_canonical
    from osteo_nb.models import build_classifier
    from osteo_nb.weights import resolve_backbones
    from osteo_nb.xai import compiled_predictor, explain, lime_input, segmenter
    lime_image.tqdm = lambda rows, **kw: rows  # lime's per-sample bar only slows the terminal
    cfg = StudyConfig(lime_samples=samples, cache_dir=tempfile.mkdtemp(), backbones=backbones)
    root = find_class_root(data)
    files = sorted((root / "Osteoporosis").iterdir())[:n]
    x = np.stack([read_canonical(f, cfg) for f in files])
    keras.utils.set_random_seed(cfg.seed)
    models = {role: build_classifier(spec, cfg) for role, spec in resolve_backbones(cfg.backbones, cfg.mobilenet).items()}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {n} images of {root.name}, {samples} samples, batch {cfg.predict_batch}, engine {cfg.lime_engine}")
    for role, m in models.items():
        pred = compiled_predictor((m,), cfg.predict_batch, cfg.image_size, cfg.lime_engine)  # the one explain uses, built here
        pred(lime_input(x[:1]))  # trace once
        t = time.perf_counter(); pred(np.repeat(lime_input(x[:1]), 4 * cfg.predict_batch, 0)); rate = 4 * cfg.predict_batch / (time.perf_counter() - t)
        usual, t = [], time.perf_counter()
        for img in x:
            label = int(np.argmax(pred(lime_input(img)[None])[0]))
            usual.append((label, lime_image.LimeImageExplainer(random_state=cfg.seed).explain_instance(
                lime_input(img), lambda b: m.predict(b, verbose=0), labels=(label,), top_labels=None, num_samples=samples,
                segmentation_fn=segmenter(cfg))))
        t_usual = (time.perf_counter() - t) / n
        t = time.perf_counter(); ours = explain(x, {role: m}, cfg, progress=False)[role]; t_ours = (time.perf_counter() - t) / n
        same = all(np.array_equal(e.mask(5), u.get_image_and_mask(l, num_features=5)[1]) for e, (l, u) in zip(ours, usual))
        diff = max(abs(e.weights[f] - w) for e, (l, u) in zip(ours, usual) for f, w in u.local_exp[l])
        print(f"{role:12s} ({m.name}): lime usual {t_usual:6.1f} s  ours {t_ours:6.1f} s  ratio {t_usual / t_ours:4.2f}x  "
              f"inference {rate:5.1f} img/s (floor {samples / rate:5.1f} s)  top-5 masks identical: {same}, max weight difference {diff:.1e}")
    cfg2 = cfg.replace(cache_dir=tempfile.mkdtemp())
    t = time.perf_counter(); explain(x, models, cfg2, progress=False); t_both = (time.perf_counter() - t) / n
    print(f"both models in one call (one segmentation, one sample matrix, one set of perturbed images): {t_both:.1f} s per image")
