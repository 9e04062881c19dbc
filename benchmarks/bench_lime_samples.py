"""How many LIME samples does a reduced study need? Top-k mask agreement against the study's 1000 samples.

Usage: python benchmarks/bench_lime_samples.py --n 20 --samples 100,200,300 --reseed [--engines openvino-bf16]
Reads the published split (results/split.csv), loads the study's original models from the model cache
(.cache/models, trained by notebook 2 of a run on the shared pool) and the 1000-sample explanations of the
test images from the explanation cache (notebook 3 or 4; computed here if missing), then explains the first
`n` test images again with fewer samples (a temporary cache) and compares, per model and sample count: the share
of images whose top-k positive mask is identical, the mean Jaccard index of the mask pixels, and seconds per
image for both models. With `--reseed`, the same comparison for the full sample count with another seed: how far
LIME's own sampling moves a mask, the ceiling for any reduced count. With `--engines openvino-bf16`, the full count
on another inference engine (`LimeConfig.lime_engine`): how far a faster, lower-precision engine moves the masks.
A reduced variant of a validity experiment (fewer samples) states these numbers.
The latest output is kept in benchmarks/README.md.
"""
import os, platform, tempfile, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fastcore.script import call_parse


@call_parse
def main(data: str = "../shared/data/knee-xray-pool", # the data folder of the published run
         source: str = "../shared/data/knee-tscore-source", # its source database (part of the run's configuration)
         n: int = 20, # test images (the first n by path)
         samples: str = "100,200,300", # reduced sample counts to compare with the profile's
         reseed: bool = False, # also the full count with seed + 1
         engines: str = "" # also the full count on these engines (comma-separated `lime_engine` values)
        ):
    "Top-k mask agreement and speed of LIME with fewer samples, another seed or another engine, against the study's own explanations."
    from osteo_nb.config import SPLIT_FILE, get_profile
    from osteo_nb.data import find_class_root, read_records
    from osteo_nb.models import split_arrays, train_or_load
    from osteo_nb.weights import resolve_backbones
    from osteo_nb.xai import explain, mask_agreement
    cfg = get_profile("paper", data_dir=data, source_data=source, cache_dir=".cache")
    arrays = split_arrays(read_records(f"results/{SPLIT_FILE}"), find_class_root(data), cfg)
    x = arrays["test"][1][:n]
    models = {r: train_or_load("original", s, arrays, cfg, progress=False).model for r, s in resolve_backbones(cfg.train.backbones, cfg.train.mobilenet).items()}
    full = explain(x, models, cfg, progress=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(x)} test images, both models in one call, "
          f"top-{cfg.lime.lime_top_k} positive masks against {cfg.lime.lime_samples} samples on {cfg.lime.lime_engine}")
    runs = ([{"lime_samples": int(s)} for s in samples.split(",") if s] + ([{"seed": cfg.seed + 1}] if reseed else [])
            + [{"lime_engine": e} for e in engines.split(",") if e])
    for change in runs:
        c = cfg.replace(**change, cache_dir=tempfile.mkdtemp())
        t = time.perf_counter(); other = explain(x, models, c, progress=False); sec = (time.perf_counter() - t) / len(x)
        for r in mask_agreement(full, other, cfg.lime.lime_top_k).itertuples():
            print(f"{c.lime.lime_samples:5d} samples, seed {c.seed}, {c.lime.lime_engine:13s} {r.model:12s}: identical masks {r.identical:5.0%}  "
                  f"mean Jaccard {r.jaccard_mean:.3f}  ({sec:.1f} s per image, both models)")
