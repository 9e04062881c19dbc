"""The keypoint stage of `dedup` on the pool, checked against the trace: time, inlier distributions, exposures, leakage.

Usage: python benchmarks/bench_keypoints.py [--data ../shared/data/knee-xray-pool] [--split results/split.csv]
        [--trace results/trace.csv] [--k 5]

The trace (`osteo-data trace`) matches every pool file against the source radiographs and uses no pool-to-pool pair,
so it is an independent answer to "are these two files one exposure?". This script runs `dedup.keypoint_pairs` on
the hash-cluster representatives of the records beside `--split` (the same images `data.find_pairs` gives it), labels each candidate
pair by the trace (same source radiograph or not) and by whether the registration pairs beside `--split` already put it
in one exposure, and prints the inlier distribution of each kind (the null: pairs of different source radiographs),
then clusters the records without and with the keypoint links (no source join) and counts, against the trace,
source radiographs split over several exposures, exposures mixing several, and source radiographs whose used files
land in two splits (seeds 0 and 42). Finally it checks that the study's split (source join, seed 42) is unchanged.
"""
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastcore.script import call_parse

from osteo_nb.config import DedupConfig, StudyConfig, pool_dir
from osteo_nb.images import read_canonical
from osteo_nb.data import PAIR_COLUMNS, SPLIT_COLUMNS, representatives, cluster, leakage, pairs_path, read_records
from osteo_nb.data import split as split_clusters  # `split` is this script's option
from osteo_nb.dedup import components, is_verified, keypoint_pairs
from osteo_nb.trace import source_leakage, sources_of


@call_parse
def main(data: str = str(pool_dir() or ""), # the data folder (the shared pool if none is given)
         trace: str = "results/trace.csv", # trace.csv of --data
         split: str = "results/split.csv", # a split file of --data with its records and pairs beside it (`write_split`); the study's (source join, seed 42) to compare with
         k: int = DedupConfig.keypoint_candidates # keypoint candidates per image
        ):
    "The keypoint stage of `dedup` on the pool, checked against the trace: time, inlier distributions, exposures, leakage."
    cfg, t0 = StudyConfig(keypoint_candidates=k), time.time()
    recs, traced = read_records(split), pd.read_csv(trace, keep_default_na=False)
    reg = pd.read_csv(pairs_path(split))
    reg = reg[reg.kind != "keypoint"]  # the registration stage only
    source_of = traced.set_index("path").source_group
    ok = recs[recs.readable & (recs.hash_cluster != "")]
    reps = representatives(ok, pd.factorize(ok.hash_cluster)[0], cfg.data.classes).to_numpy()
    paths = ok.path[reps].tolist()
    images = [read_canonical(Path(data) / p, cfg.data) for p in paths]
    t1 = time.time()
    kp = keypoint_pairs(images, cfg, progress=False)
    print(f"{len(paths)} representatives; keypoint stage (k={k}): {time.time() - t1:.1f} s, {len(kp)} candidate pairs")
    kp.insert(0, "path_a", [paths[i] for i in kp.a]); kp.insert(1, "path_b", [paths[i] for i in kp.b])
    sa, sb = kp.path_a.map(source_of).fillna(""), kp.path_b.map(source_of).fillna("")
    kp["same_source"] = (sa != "") & (sa == sb)
    pos = {p: i for i, p in enumerate(paths)}
    linked = reg[is_verified(reg, cfg.dedup)]
    exposure = components(len(paths), np.c_[linked.path_a.map(pos), linked.path_b.map(pos)])
    kp["linked_by_registration"] = exposure[kp.a] == exposure[kp.b]
    for (same, before), g in kp.groupby(["same_source", "linked_by_registration"]):
        q = np.percentile(g.score, [0, 50, 90, 99, 100]).round(0).astype(int).tolist()
        print(f"{'same source' if same else 'different sources'}, {'already' if before else 'not'} linked by registration: "
              f"{len(g)} pairs, inliers min/50%/90%/99%/max {q}")
    cols = ["path_a", "path_b", "view", "score"]
    print("different sources, highest:"); print(kp[~kp.same_source].nlargest(5, "score")[cols].to_string(index=False))
    print("same source, not linked by registration, lowest:")
    print(kp[kp.same_source & ~kp.linked_by_registration].nsmallest(5, "score")[cols].to_string(index=False))
    pairs = pd.concat([reg, kp[PAIR_COLUMNS]], ignore_index=True)
    for name, c in [("registration", cfg.replace(keypoint_links=False)), ("registration + keypoints", cfg)]:
        cl = cluster(recs, c, pairs=pairs)
        g = cl[cl.group != ""].assign(src=lambda d: d.path.map(source_of).fillna(""))
        g = g[g.src != ""]
        print(f"{name}: exposures {cl.group[cl.group != ''].nunique()}, conflicting {cl.group[cl.status == 'conflict'].nunique()}; "
              f"against the trace: source radiographs over 2+ exposures {int((g.groupby('src').group.nunique() > 1).sum())}, "
              f"exposures mixing 2+ source radiographs {int((g.groupby('group').src.nunique() > 1).sum())}")
        for seed in (0, 42):
            s = split_clusters(cl, c.replace(seed=seed))
            print(f"    seed {seed}: used {int((s.status == 'used').sum())}, exposures across splits {len(leakage(s, 'group'))}, "
                  f"source radiographs across splits (trace) {len(source_leakage(s, traced))}")
    study = split_clusters(cluster(recs, cfg, sources=sources_of(traced), pairs=pairs), cfg.replace(seed=42))
    mine = study[SPLIT_COLUMNS].sort_values("path").reset_index(drop=True).astype(str)
    theirs = pd.read_csv(split, keep_default_na=False)[SPLIT_COLUMNS].sort_values("path").reset_index(drop=True).astype(str)
    print(f"the study's split (source join, seed 42) with keypoint links equals {split}: {mine.equals(theirs)}")
    print(f"{time.time() - t0:.0f} s in all")

