"""Recall of `dedup` against the trace: which (whole copy, one-knee crop) pairs of one source radiograph does it link?

The trace (`osteo_nb.trace`, SIFT + RANSAC against the source database) says which pool files come from one
source radiograph and which side of it each one shows. This script takes every pair of hash clusters (the
units `dedup` compares) where one is a whole copy and the other a one-knee crop of the same source radiograph,
and reports, for each, whether `dedup.candidates` proposed it, and whether registration (`dedup.verify`)
accepted it. For the pairs never proposed it also registers them directly, over every half view, to tell a
candidate-search miss from a registration miss.

Usage: python audits/audit_dedup_recall.py --records results/split_records.csv --trace results/trace.csv [--out missed.csv]

`--records` must come from a split made without `source_data` (dedup alone); `--trace` from `osteo-data trace`
of the same data folder. Takes about 1.5 minutes on 2 cores (481 hash clusters on the shared pool).
The latest result is kept in audits/README.md.
"""
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastcore.script import Param, call_parse

from osteo_nb import dedup
from osteo_nb.config import StudyConfig, pool_dir
from osteo_nb.images import read_canonical
from osteo_nb.dedup import HALF_VIEWS, candidates, descriptor, verify_pairs, view
from osteo_nb.trace import read_trace


@call_parse
def main(data: str = str(pool_dir() or ""), # the data folder (the shared pool if none is given)
         records: Param("split_records.csv of a dedup-only split of --data", str, required=True) = None,
         trace: Param("trace.csv of --data", str, required=True) = None,
         out: str = "" # write the never-proposed pairs, registered directly, here (CSV)
        ):
    "Recall of `dedup` against the trace: which (whole copy, one-knee crop) pairs of one source radiograph does it link?"
    cfg, t0 = StudyConfig(), time.time()
    recs = pd.read_csv(records, keep_default_na=False)
    recs = recs[recs.hash_cluster != ""]
    reps = recs.groupby("hash_cluster").path.first().to_numpy()  # one file per hash cluster, as dedup compares them
    traced = read_trace(trace).set_index("path").reindex(reps)
    src, side = traced.source_group.fillna("").to_numpy(), traced.side.fillna("").to_numpy()
    images = [read_canonical(Path(data) / p, cfg.data) for p in reps]
    truth = [(i, j) for i in range(len(reps)) for j in range(i + 1, len(reps))
             if src[i] and src[i] == src[j] and "whole" in (side[i], side[j]) and {side[i], side[j]} != {"whole"}]
    cand = candidates(images, cfg.dedup.match_candidates, cfg.dedup.crop_candidates, cfg.dedup.window_candidates)
    proposed = {(min(x, y), max(x, y)) for x, y in zip(cand.a, cand.b)}
    checked = verify_pairs(images, cand[[(min(x, y), max(x, y)) in set(truth) for x, y in zip(cand.a, cand.b)]], cfg, progress=False)
    ok = {(min(x, y), max(x, y)) for x, y, v in zip(checked.a, checked.b, dedup.is_verified(checked, cfg.dedup)) if v}
    missed = [p for p in truth if p not in proposed]
    print(f"{len(reps)} hash clusters; whole<->crop pairs of one source radiograph: {len(truth)}")
    print(f"  proposed by candidates: {len(truth) - len(missed)}, of which verified {len(ok)}, rejected {len(truth) - len(missed) - len(ok)}")
    print(f"  never proposed: {len(missed)}")
    crop_whole = [(i, j) if side[i] != "whole" else (j, i) for i, j in missed]
    forced = verify_pairs(images, pd.DataFrame([(c, w, v, 0.0) for c, w in crop_whole for v in HALF_VIEWS], columns=["a", "b", "view", "distance"]), cfg, progress=False)
    forced["verified"] = dedup.is_verified(forced, cfg.dedup)
    full = {c: descriptor(view(images[c], "full", 64)) for c, _ in crop_whole}
    forced["thumb_distance"] = [min(float(np.linalg.norm(full[c] - descriptor(view(images[w], v, 64)))) for v in HALF_VIEWS) for c, w in zip(forced.a, forced.b)]
    forced["crop"], forced["whole"] = reps[forced.a], reps[forced.b]
    print(f"  of those, registered directly over every half view: verified {int(forced.verified.sum())}, rejected {int((~forced.verified).sum())}")
    cols = ["crop", "whole", "view", "score", "stretch", "verified", "thumb_distance"]
    print(forced[cols].to_string(index=False))
    if out: forced[cols].to_csv(out, index=False)
    print(f"{time.time() - t0:.0f} s")

