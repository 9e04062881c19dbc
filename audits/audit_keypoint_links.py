"""Would keypoints link what `dedup` misses? The trace's matcher (SIFT + RANSAC affine), pool file against pool file.

`audit_dedup_recall.py --out missed.csv` lists the (one-knee crop, whole two-knee file) pairs of one source
radiograph that `dedup` never links. This script matches each crop against its whole file with `trace`'s keypoint
matcher (`trace.query_views` of the crop against `trace.source_views` of the whole file: as it is and stretched 2x,
the crop direct and mirrored; the count is RANSAC inliers), and, as the null, against `--null` whole files of other
source radiographs drawn at random (`--seed`); then the two look-alike pairs of different exposures that issue 6
names. A keypoint verifier is worth building if the two distributions do not overlap.

Usage: python audits/audit_keypoint_links.py --missed missed.csv --records split_records.csv --trace results/trace.csv
The latest result is kept in audits/README.md.
"""
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastcore.script import Param, call_parse

from osteo_nb.config import StudyConfig, pool_dir
from osteo_nb.images import read_canonical
from osteo_nb.trace import best_match, query_views, read_trace, source_views

LOOK_ALIKES = [("Normal/Normal 143.jpg", "Normal/Normal 159.jpg"), ("Osteoporosis/Osteoporosis 128.jpg", "Osteoporosis/Osteoporosis 135.jpg")]


@call_parse
def main(data: str = str(pool_dir() or ""), # the data folder (the shared pool if none is given)
         missed: Param("the CSV `audit_dedup_recall.py --out` wrote (columns crop, whole)", str, required=True) = None,
         records: Param("split_records.csv of the same dedup-only split", str, required=True) = None,
         trace: Param("trace.csv of --data", str, required=True) = None,
         null: int = 40, # whole files of other source radiographs per crop
         seed: int = 0 # seed of the random draw of those whole files
        ):
    "Would keypoints link what `dedup` misses? The trace's matcher (SIFT + RANSAC affine), pool file against pool file."
    cfg, t0, rng = StudyConfig(), time.time(), np.random.default_rng(seed)
    img = lambda p: read_canonical(Path(data) / p, cfg.data)
    traced = read_trace(trace).set_index("path")
    recs = pd.read_csv(records, keep_default_na=False)
    wholes = [p for p in recs[recs.hash_cluster != ""].groupby("hash_cluster").path.first() if traced.side.get(p) == "whole"]
    views = {}
    sv = lambda p: views.setdefault(p, source_views(img(p), cfg))
    rows = []
    for crop, whole in pd.read_csv(missed).drop_duplicates(["crop", "whole"])[["crop", "whole"]].itertuples(index=False):
        qv, group = query_views(img(crop), cfg.dedup), traced.source_group.get(crop)
        others = [o for o in rng.permutation(wholes) if traced.source_group.get(o) != group][:null]
        scores = sorted((best_match(qv, sv(o))[0] for o in others), reverse=True)
        rows.append((crop, whole, best_match(qv, sv(whole))[0], scores[0], float(np.median(scores))))
    df = pd.DataFrame(rows, columns=["crop", "whole", "inliers", "null_max", "null_median"])
    print(df.to_string(index=False))
    print(f"same source radiograph: {len(df)} pairs, inliers {df.inliers.min()}-{df.inliers.max()} (median {df.inliers.median():.0f}); "
          f"null: {len(df) * null} pairs, max {df.null_max.max()}, median of medians {df.null_median.median():.1f}")
    for x, y in LOOK_ALIKES:
        if (Path(data) / x).exists(): print(f"look-alike, different exposures: {x} vs {y}: {best_match(query_views(img(x), cfg.dedup), sv(y))[0]} inliers")
    print(f"{time.time() - t0:.0f} s")

