"""LIME speed: lime as usually called versus `osteo_nb.xai`, on the same real images and classifiers.

Usage: python benchmarks/bench_lime.py --data ../shared/data/knee-xray-pool --n 3 --samples 1000 [--engines openvino,openvino-bf16]
For each backbone of `--backbones` (the classifier: the backbone with the study's head, seeded; the
speed and the sameness of the masks do not depend on training), prints seconds per explanation for
lime's `explain_instance` with its defaults and `model.predict` as the classifier (batch_size=10),
and, for each engine of `--engines`, ours (`xai.explain`, one model), the ratio, the model's raw
inference rate through the same compiled predictor (the floor: num_samples / that rate), the share of
images whose top-5 masks are identical to lime's, their mean Jaccard index (`xai.jaccard`), and how far
the superpixel weights differ. Then both models in one call with the first engine. The latest output is
kept in benchmarks/README.md.
"""
import os, platform, tempfile, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from fastcore.script import call_parse


@call_parse
def main(data: str = "../shared/data/knee-xray-pool", # a data folder with class sub-folders
         n: int = 3, # images (the first n osteoporosis files, sorted by name)
         samples: int = 1000, # LIME samples per explanation
         backbones: str = "offline", # `TrainConfig.backbones`
         engines: str = "openvino" # comma-separated `LimeConfig.lime_engine` values; the first is also timed with both models
        ):
    "Seconds per LIME explanation: lime's usual call versus ours, with the inference floor and mask agreement."
    import keras
    from lime import lime_image
    from osteo_nb.config import StudyConfig
    from osteo_nb.images import read_canonical
    from osteo_nb.data import find_class_root
    from osteo_nb.models import build_classifier
    from osteo_nb.weights import resolve_backbones
    from osteo_nb.xai import compiled_predictor, explain, jaccard, lime_input, segmenter
    lime_image.tqdm = lambda rows, **kw: rows  # lime's per-sample bar only slows the terminal
    cfg = StudyConfig(lime_samples=samples, cache_dir=tempfile.mkdtemp(), backbones=backbones)
    root = find_class_root(data)
    files = sorted((root / "Osteoporosis").iterdir())[:n]
    x = np.stack([read_canonical(f, cfg.data) for f in files])
    keras.utils.set_random_seed(cfg.seed)
    models = {role: build_classifier(spec, cfg) for role, spec in resolve_backbones(cfg.train.backbones, cfg.train.mobilenet).items()}
    engines = engines.split(",")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {n} images of {root.name}, {samples} samples, batch {cfg.lime.predict_batch}, engines {engines}")
    for role, m in models.items():
        usual, t = [], time.perf_counter()
        for img in x:
            label = int(np.argmax(m.predict(lime_input(img)[None], verbose=0)[0]))
            usual.append((label, lime_image.LimeImageExplainer(random_state=cfg.seed).explain_instance(
                lime_input(img), lambda b: m.predict(b, verbose=0), labels=(label,), top_labels=None, num_samples=samples,
                segmentation_fn=segmenter(cfg))))
        t_usual = (time.perf_counter() - t) / n
        print(f"{role:12s} ({m.name}): lime usual {t_usual:6.1f} s")
        for engine in engines:
            c = cfg.replace(lime_engine=engine)
            pred = compiled_predictor((m,), c.lime.predict_batch, c.data.image_size, engine)  # the one explain uses, built here
            pred(lime_input(x[:1]))  # trace once
            t = time.perf_counter(); pred(np.repeat(lime_input(x[:1]), 4 * c.lime.predict_batch, 0)); rate = 4 * c.lime.predict_batch / (time.perf_counter() - t)
            t = time.perf_counter(); ours = explain(x, {role: m}, c, progress=False)[role]; t_ours = (time.perf_counter() - t) / n
            theirs = [u.get_image_and_mask(l, num_features=5)[1] for l, u in usual]
            same = np.mean([np.array_equal(e.mask(5), u) for e, u in zip(ours, theirs)]); jac = np.mean([jaccard(e.mask(5), u) for e, u in zip(ours, theirs)])
            diff = max(abs(e.weights[f] - w) for e, (l, u) in zip(ours, usual) for f, w in u.local_exp[l])
            print(f"  {engine:14s} ours {t_ours:6.1f} s  ratio {t_usual / t_ours:4.2f}x  inference {rate:5.1f} img/s (floor {samples / rate:5.1f} s)  "
                  f"top-5 masks identical to lime's: {same:4.0%}, mean Jaccard {jac:.3f}, max weight difference {diff:.1e}")
    cfg2 = cfg.replace(cache_dir=tempfile.mkdtemp(), lime_engine=engines[0])
    t = time.perf_counter(); explain(x, models, cfg2, progress=False); t_both = (time.perf_counter() - t) / n
    print(f"both models in one call ({engines[0]}; one segmentation, one sample matrix, one set of perturbed images): {t_both:.1f} s per image")
