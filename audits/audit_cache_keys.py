"""Do two versions of the code find the same cache entries? Print every cache key and saved form of the configuration.

Usage: (cd OTHER_CHECKOUT && .venv/bin/python /path/to/audits/audit_cache_keys.py) > old.json
       .venv/bin/python audits/audit_cache_keys.py > new.json && cmp old.json new.json

For every profile, as is and with overrides (source data, cache folder, seed, top k): the saved configuration
(`config.to_dict`), the LIME parameters an explanation's key holds (`xai.lime_params`), the training keys of both
offline backbones for both targets (`models.training_key`) and their model file names, the decoded-image cache key,
the trace key and the run id, on made-up inputs. A renovation that must reuse the caches (the cached models and
LIME explanations of a published run) must leave this output byte for byte the same. The latest result is kept in
audits/README.md.
"""
import json, tempfile
from pathlib import Path

from fastcore.script import call_parse


@call_parse
def main():
    "Print every cache key and saved form of the configuration, for every profile, as JSON."
    import numpy as np
    import pandas as pd
    from osteo_nb import dataset, models, reproduce, trace, xai
    from osteo_nb.config import PROFILES, get_profile, to_dict
    from osteo_nb.weights import resolve_backbones
    specs = resolve_backbones("offline")
    rows = pd.DataFrame({"path": ["Normal/a.png", "Osteoporosis/b.png"], "label": ["normal", "osteoporosis"],
                         "file_sha256": ["aa", "bb"], "t_score": [-0.5, -3.0]})
    arrays = {s: (rows, np.full((2, 224, 224), i, np.uint8)) for i, s in enumerate(("train", "val", "test"))}
    source = pd.DataFrame({"file": ["normal/N1.png"], "t_score": [-0.5]})
    from PIL import Image
    data = Path(tempfile.mkdtemp())
    for f, v in zip(rows.path, (60, 200)):
        (data / f).parent.mkdir(exist_ok=True); Image.new("L", (300, 250), v).save(data / f)
    def images_key(cfg):  # the decoded-image cache's file name, as `load_images` writes it
        cache = Path(tempfile.mkdtemp())
        dataset.load_images(rows, data, cfg.replace(cache_dir=str(cache)))
        return sorted(f.name for f in (cache / "images").iterdir())
    overrides = {"source_data": "../shared/data/knee-tscore-source", "cache_dir": ".cache", "seed": 7, "lime_top_k": 3}
    out = {}
    for name in PROFILES:
        for extra in ({}, overrides):
            cfg = get_profile(name, data_dir="../shared/data/knee-xray-pool", **extra)
            out[name + ("+overrides" if extra else "")] = {
                "to_dict": json.dumps(to_dict(cfg), sort_keys=True), "lime": json.dumps(xai.lime_params(cfg), sort_keys=True),
                "training": [models.training_key(specs[r], arrays, cfg, t) for r in specs for t in ("class", "t_score")],
                "model_file": [models.model_path("original", specs[r], arrays, cfg).name for r in specs],
                "images": images_key(cfg), "trace": trace.trace_key(data, source, cfg),
                "run_id": reproduce.run_id(cfg, "0123456789abcdef")}
    print(json.dumps(out, sort_keys=True, indent=0))
