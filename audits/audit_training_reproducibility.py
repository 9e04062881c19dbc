"""Does a training reproduce a published model? Retrain one original model in a fresh process and compare its test predictions.

Usage: OSTEO_NB_CACHE=/tmp/empty python audits/audit_training_reproducibility.py --split results/split.csv --epochs 2 --compare results/predictions_original_efficientnet.csv

Trains `--role`'s original classifier (the `paper` profile, seed 42) on the split `--split` for `--epochs` epochs (the
published model's best epoch: the weights `fit` keeps are those of the best epoch, so a training stopped there gives
the same model), then compares its test probabilities with each `--compare` predictions file (a study's
`predictions_original_<role>.csv`). Set `OSTEO_NB_CACHE` to an empty folder to train as a machine's first training
does (the stand-in weights converted inside the run), or leave it to use the converted weights already cached.
The latest result is kept in audits/README.md.
"""
import tempfile, time

from fastcore.script import Param, call_parse

from osteo_nb.config import pool_dir


@call_parse
def main(data: str = str(pool_dir() or ""), # the data folder (the shared pool if none is given)
         split: Param("a study's results/split.csv", str, required=True) = None,
         role: Param("which original model to retrain", str, choices=["efficientnet", "mobilenet"]) = "efficientnet",
         epochs: Param("the published model's best epoch", int, required=True) = None,
         compare: Param("predictions_original_<role>.csv files to compare with", str, nargs="+", required=True) = None
        ):
    "Does a training reproduce a published model? Retrain one original model in a fresh process and compare its test predictions."
    import numpy as np
    import pandas as pd
    from osteo_nb.config import get_profile
    from osteo_nb.data import find_class_root, read_records
    from osteo_nb.experiments import run_experiment
    from osteo_nb.models import split_arrays
    from osteo_nb.weights import resolve_backbones
    t0 = time.time()
    with tempfile.TemporaryDirectory() as out:
        cfg = get_profile("paper", data_dir=data, out_dir=out, seed=42, epochs=epochs)
        arrays = split_arrays(read_records(split), find_class_root(cfg.data.data_dir), cfg)
        spec = resolve_backbones(cfg.train.backbones, cfg.train.mobilenet)[role]
        p = run_experiment("original", spec, arrays, cfg, progress=False).predictions.reset_index(drop=True)
    for f in compare:
        q = pd.read_csv(f)
        assert (q.path.to_numpy() == p.path.to_numpy()).all(), f"{f}: other test images"
        d = np.abs(q.p_osteoporosis.to_numpy() - p.p_osteoporosis.to_numpy())
        print(f"{f}: largest |difference| of p_osteoporosis {d.max():.1e}; predictions (at 0.5) that differ {int(((q.p_osteoporosis >= 0.5).to_numpy() != (p.p_osteoporosis >= 0.5).to_numpy()).sum())} of {len(p)}")
    print(f"{spec.arch}, {epochs} epochs, {time.time() - t0:.0f} s")
