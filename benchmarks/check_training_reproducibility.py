"""Does a training reproduce a published model? Retrain one original model in a fresh process and compare its test predictions.

Trains `--role`'s original classifier (the `paper` profile, seed 42) on the split `--split` for `--epochs` epochs (the
published model's best epoch: the weights `fit` keeps are those of the best epoch, so a training stopped there gives
the same model), then compares its test probabilities with each `--compare` predictions file (a study's
`predictions_original_<role>.csv`). Set `OSTEO_NB_CACHE` to an empty folder to train as a machine's first training
does (the stand-in weights converted inside the run), or leave it to use the converted weights already cached.

    OSTEO_NB_CACHE=/tmp/empty PYTHONPATH=. python benchmarks/check_training_reproducibility.py --split results/split.csv \
        --epochs 2 --compare results/predictions_original_efficientnet.csv
"""
import argparse, tempfile, time

import numpy as np
import pandas as pd

from osteo_nb.config import get_profile, pool_dir
from osteo_nb.data import find_class_root, read_records
from osteo_nb.models import run_experiment, split_arrays
from osteo_nb.weights import resolve_backbones


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(pool_dir() or ""), help="the data folder (default: the shared pool)")
    ap.add_argument("--split", required=True, help="a study's results/split.csv")
    ap.add_argument("--role", default="efficientnet", choices=["efficientnet", "mobilenet"])
    ap.add_argument("--epochs", type=int, required=True, help="the published model's best epoch")
    ap.add_argument("--compare", nargs="+", required=True, help="predictions_original_<role>.csv files to compare with")
    a = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory() as out:
        cfg = get_profile("paper", data_dir=a.data, out_dir=out, seed=42, epochs=a.epochs)
        arrays = split_arrays(read_records(a.split), find_class_root(cfg.data_dir), cfg)
        spec = resolve_backbones(cfg.backbones, cfg.mobilenet)[a.role]
        p = run_experiment("original", spec, arrays, cfg, progress=False).predictions.reset_index(drop=True)
    for f in a.compare:
        q = pd.read_csv(f)
        assert (q.path.to_numpy() == p.path.to_numpy()).all(), f"{f}: other test images"
        d = np.abs(q.p_osteoporosis.to_numpy() - p.p_osteoporosis.to_numpy())
        print(f"{f}: largest |difference| of p_osteoporosis {d.max():.1e}; predictions (at 0.5) that differ {int(((q.p_osteoporosis >= 0.5).to_numpy() != (p.p_osteoporosis >= 0.5).to_numpy()).sum())} of {len(p)}")
    print(f"{spec.arch}, {a.epochs} epochs, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
