"""Audit a split for copies across splits by exhaustive verification (no candidate search).

Usage: python audits/audit_split.py --split results/split.csv --data ../shared/data/knee-xray-pool
Every used radiograph of the validation and test splits is registered against every used
radiograph of the training split, both ways round (held-out content against the training image's
views, and training content against the held-out image's views), in every view of `dedup.VIEWS`
(the content box, its left and right halves, each direct and mirrored), and scored as in `dedup`. A verified pair (`is_verified`:
`match_threshold` for copies, `crop_threshold` for a one-knee crop against a half) is a copy or a
crop the pipeline's nearest-neighbour candidates missed. Quadratic: about 240k verifications
(20-25 minutes on 2 idle cores) for the shared pool.
The latest result is kept in audits/README.md.
"""
import os, platform, time

import numpy as np
import pandas as pd
from pathlib import Path

from fastcore.script import call_parse


@call_parse
def main(split: str = "results/split.csv", # a split written by `osteo-data split` (records beside it)
         data: str = "../shared/data/knee-xray-pool", # the data folder the split was made from
         top: int = 10, # how many of the highest-scoring pairs to print
         out: str = None # if given, write every verified pair (held_out, train, view, kind, score, ...) to this CSV
        ):
    "Exhaustive cross-split copy search: val and test radiographs against training radiographs."
    from osteo_nb.config import StudyConfig
    from osteo_nb.images import read_canonical
    from osteo_nb.data import find_class_root, read_records
    from osteo_nb.dedup import VIEWS, all_pairs, is_verified, verify_pairs
    cfg, root = StudyConfig(), find_class_root(data)
    recs = read_records(split)
    used = recs[recs.status == "used"]
    held, train = used[used.split.isin(["val", "test"])], used[used.split == "train"]
    files = list(held.path) + list(train.path)
    images = [read_canonical(root / f, cfg.data) for f in files]
    t = time.perf_counter()
    fwd = all_pairs(len(held), len(train), VIEWS)  # held-out content against the training image's views
    rev = fwd.rename(columns={"a": "b", "b": "a"})[fwd.columns]  # and the other way round
    pairs = verify_pairs(images, pd.concat([fwd, rev], ignore_index=True), cfg)
    dt = time.perf_counter() - t
    lo, hi = np.minimum(pairs.a, pairs.b), np.maximum(pairs.a, pairs.b)  # held-out indices come first
    pairs["held_out"], pairs["train"] = [files[i] for i in lo], [files[i] for i in hi]
    pairs["direction"] = np.where(pairs.a < pairs.b, "held-out onto train", "train onto held-out")
    hits = pairs[is_verified(pairs, cfg.dedup)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(held)} val/test x {len(train)} train radiographs, "
          f"{len(pairs)} ordered pairs (best of {len(VIEWS)} views each) verified in {dt:.0f} s")
    print(f"verified pairs (copies >= {cfg.dedup.match_threshold}, crops >= {cfg.dedup.crop_threshold}, crops stretched by more than "
          f"{cfg.dedup.crop_max_stretch} >= {cfg.dedup.stretched_threshold}): {len(hits)} {hits.kind.value_counts().to_dict()}")
    if out: pairs.sort_values("score", ascending=False).to_csv(out, index=False)
    print(pairs.nlargest(top, "score")[["held_out", "train", "direction", "view", "kind", "score", "stretch", "fine", "medium"]].round(3).to_string(index=False))
