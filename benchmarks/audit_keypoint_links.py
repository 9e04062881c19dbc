"""Would keypoints link what `dedup` misses? The trace's matcher (SIFT + RANSAC affine), pool file against pool file.

`audit_dedup_recall.py --out missed.csv` lists the (one-knee crop, whole two-knee file) pairs of one source
radiograph that `dedup` never links. This script matches each crop against its whole file with `trace`'s keypoint
matcher (`trace.query_views` of the crop against `trace.source_views` of the whole file: as it is and stretched 2x,
the crop direct and mirrored; the count is RANSAC inliers), and, as the null, against `--null` whole files of other
source radiographs drawn at random (`--seed`); then the two look-alike pairs of different exposures that issue 6
names. A keypoint verifier is worth building if the two distributions do not overlap.

    PYTHONPATH=. python benchmarks/audit_keypoint_links.py --missed missed.csv --records split_records.csv --trace results/trace.csv
"""
import argparse, time
from pathlib import Path

import numpy as np
import pandas as pd

from osteo_nb.config import StudyConfig, pool_dir
from osteo_nb.data import read_canonical
from osteo_nb.trace import _best_match, query_views, read_trace, source_views

LOOK_ALIKES = [("Normal/Normal 143.jpg", "Normal/Normal 159.jpg"), ("Osteoporosis/Osteoporosis 128.jpg", "Osteoporosis/Osteoporosis 135.jpg")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(pool_dir() or ""), help="the data folder (default: the shared pool)")
    ap.add_argument("--missed", required=True, help="the CSV `audit_dedup_recall.py --out` wrote (columns crop, whole)")
    ap.add_argument("--records", required=True, help="split_records.csv of the same dedup-only split")
    ap.add_argument("--trace", required=True, help="trace.csv of --data")
    ap.add_argument("--null", type=int, default=40, help="whole files of other source radiographs per crop")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg, t0, rng = StudyConfig(), time.time(), np.random.default_rng(a.seed)
    img = lambda p: read_canonical(Path(a.data) / p, cfg)
    traced = read_trace(a.trace).set_index("path")
    recs = pd.read_csv(a.records, keep_default_na=False)
    wholes = [p for p in recs[recs.hash_cluster != ""].groupby("hash_cluster").path.first() if traced.side.get(p) == "whole"]
    views = {}
    sv = lambda p: views.setdefault(p, source_views(img(p), cfg))
    rows = []
    for crop, whole in pd.read_csv(a.missed).drop_duplicates(["crop", "whole"])[["crop", "whole"]].itertuples(index=False):
        qv, group = query_views(img(crop), cfg), traced.source_group.get(crop)
        others = [o for o in rng.permutation(wholes) if traced.source_group.get(o) != group][:a.null]
        null = sorted((_best_match(qv, sv(o))[0] for o in others), reverse=True)
        rows.append((crop, whole, _best_match(qv, sv(whole))[0], null[0], float(np.median(null))))
    df = pd.DataFrame(rows, columns=["crop", "whole", "inliers", "null_max", "null_median"])
    print(df.to_string(index=False))
    print(f"same source radiograph: {len(df)} pairs, inliers {df.inliers.min()}-{df.inliers.max()} (median {df.inliers.median():.0f}); "
          f"null: {len(df) * a.null} pairs, max {df.null_max.max()}, median of medians {df.null_median.median():.1f}")
    for x, y in LOOK_ALIKES:
        if (Path(a.data) / x).exists(): print(f"look-alike, different exposures: {x} vs {y}: {_best_match(query_views(img(x), cfg), sv(y))[0]} inliers")
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
