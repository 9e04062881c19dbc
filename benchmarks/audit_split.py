"""Audit a split for copies across splits by exhaustive verification (no candidate search).

Usage: python benchmarks/audit_split.py --split results/split.csv --data ../shared/data/knee-xray-pool
Every used radiograph of the validation and test splits is registered against every used
radiograph of the training split (directly and mirrored) and scored as in `dedup`. A pair at or
above `match_threshold` is a copy the pipeline's nearest-neighbour candidates missed. Quadratic:
about 50k verifications (5-6 minutes on 2 cores) for the shared pool.
"""
import os, platform, time
from pathlib import Path

from fastcore.script import call_parse


@call_parse
def main(split: str = "results/split.csv", # a split written by `osteo-data split` (records beside it)
         data: str = "../shared/data/knee-xray-pool", # the data folder the split was made from
         top: int = 10 # how many of the highest-scoring pairs to print
        ):
    "Exhaustive cross-split copy search: val and test radiographs against training radiographs."
    from osteo_nb.config import StudyConfig
    from osteo_nb.data import find_class_root, read_canonical, read_records
    from osteo_nb.dedup import all_pairs, verify_pairs
    cfg, root = StudyConfig(), find_class_root(data)
    recs = read_records(split)
    used = recs[recs.status == "used"]
    held, train = used[used.split.isin(["val", "test"])], used[used.split == "train"]
    files = list(held.path) + list(train.path)
    images = [read_canonical(root / f, cfg) for f in files]
    t = time.perf_counter()
    pairs = verify_pairs(images, all_pairs(len(held), len(train)), cfg)
    dt = time.perf_counter() - t
    pairs["held_out"], pairs["train"] = [files[i] for i in pairs.a], [files[i] for i in pairs.b]
    hits = pairs[pairs.score >= cfg.match_threshold]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(held)} val/test x {len(train)} train radiographs, "
          f"{len(pairs)} pairs verified in {dt:.0f} s")
    print(f"pairs at or above match_threshold={cfg.match_threshold}: {len(hits)}")
    print(pairs.nlargest(top, "score")[["held_out", "train", "view", "kind", "score", "fine", "medium"]].round(3).to_string(index=False))
