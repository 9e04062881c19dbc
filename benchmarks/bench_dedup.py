"""Near-duplicate benchmark: the null distribution of the detail score and the wall time on the pool.

Usage: python benchmarks/bench_dedup.py --pool ../shared/data/knee-xray-pool --source ../shared/data/knee-tscore-source
Prints, per relation (copies of one radiograph, one-knee crops), the score quantiles of pairs of
*different* radiographs (the source database: 239 patients, byte-identical files left out), the
histogram of the pool's candidate scores (where its gap is), and the time to split the pool. The latest output is kept in benchmarks/README.md.
"""
import hashlib, os, platform, time
from pathlib import Path

import numpy as np
from fastcore.script import call_parse


def _source_images(src: Path, cfg):
    "Canonical images of the source database and the sha256 of each file."
    from osteo_nb.images import read_canonical
    files = sorted(p for p in src.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [read_canonical(p, cfg.data) for p in files], [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]


def _histogram(scores, lo=0.3, hi=0.8, step=0.05):
    edges = np.round(np.arange(lo, hi + 1e-9, step), 2)
    counts, _ = np.histogram(scores, bins=edges)
    return " ".join(f"[{a:.2f},{b:.2f}):{c}" for a, b, c in zip(edges[:-1], edges[1:], counts))


def _by_relation(pairs, cfg):
    "(relation, rows): copies of one radiograph (full-frame views), one-knee crops (half views), and stretched crop registrations."
    crop, stretched = pairs.kind == "crop", pairs.stretch.fillna(1.0) > cfg.dedup.crop_max_stretch
    return [("copy", pairs[~crop]), ("crop", pairs[crop & ~stretched]), ("crop, stretched", pairs[crop & stretched])]


@call_parse
def main(pool: str = "../shared/data/knee-xray-pool", # the shared pool of radiographs
         source: str = "../shared/data/knee-tscore-source", # the source database (different patients)
         k: int = 6 # candidates per image
        ):
    "Null distribution of the detail score, the pool's score valley, and the pool's split time."
    from osteo_nb.config import StudyConfig
    from osteo_nb.data import make_split
    from osteo_nb.dedup import is_verified, match_pairs
    cfg = StudyConfig(match_candidates=k)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; match_threshold {cfg.dedup.match_threshold}, crop_threshold {cfg.dedup.crop_threshold}, "
          f"stretched_threshold {cfg.dedup.stretched_threshold} (stretch > {cfg.dedup.crop_max_stretch}), k {k}")
    images, sha = _source_images(Path(source), cfg)
    t = time.perf_counter(); null = match_pairs(images, cfg, progress=False); dt = time.perf_counter() - t
    null = null[[sha[a] != sha[b] for a, b in zip(null.a, null.b)]]
    print(f"null (source, {len(images)} radiographs, {len(null)} pairs of different files, {dt:.1f} s); verified: {int(is_verified(null, cfg.dedup).sum())}")
    for rel, d in _by_relation(null, cfg):
        q = np.quantile(d.score, [0.5, 0.99, 1.0])
        if len(d) == 0: continue
        print(f"  null {rel:15s} {len(d):5d} pairs: median {q[0]:.3f}, 99% {q[1]:.3f}, max {q[2]:.3f}")
    t = time.perf_counter(); recs = make_split(pool, cfg, progress=False); dt = time.perf_counter() - t
    p = recs.attrs["pairs"]
    print(f"pool: split of {len(recs)} files in {dt:.1f} s; {len(p)} candidate pairs between hash clusters, {int(is_verified(p, cfg.dedup).sum())} verified")
    for rel, d in _by_relation(p, cfg): print(f"  pool {rel:15s} scores: {_histogram(d.score, 0.3, 1.0)}")

