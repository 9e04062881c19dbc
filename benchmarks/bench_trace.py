"""Tracing speed and separation: `osteo_nb.trace` on a sample of pool files against the whole source database.

Usage: python benchmarks/bench_trace.py --data ../shared/data/knee-xray-pool --source ../shared/data/knee-tscore-source --n 40
Prints the time to compute the source keypoints (once per run), the seconds per traced image
(single-threaded and with `trace`'s thread pool), and, for the sampled images, the best score and the
best other radiograph's score (the margin the decision rule needs). `trace` on the whole pool traces
each distinct canonical image once (944 for the shared pool). The latest output is kept in
benchmarks/README.md.
"""
import os, platform, random, time

import numpy as np
from fastcore.script import call_parse


@call_parse
def main(data: str = "../shared/data/knee-xray-pool", # a data folder with class sub-folders
         source: str = "../shared/data/knee-tscore-source", # the source database
         n: int = 40, # images to trace (a seeded random sample of the folder's files)
         seed: int = 0 # sample seed
        ):
    "Seconds per traced image, single-threaded and threaded, and the score margin on a sample."
    from concurrent.futures import ThreadPoolExecutor
    from osteo_nb.config import StudyConfig
    from osteo_nb.images import open_image, read_canonical, to_luminance
    from osteo_nb.data import list_files, find_class_root
    from osteo_nb.dedup import single_threaded_cv2
    from osteo_nb.trace import read_source, source_views, trace_image
    cfg, root = StudyConfig(), find_class_root(data)
    files = random.Random(seed).sample([rel for rel, _, _ in list_files(root)], n)
    images = [read_canonical(root / f, cfg.data) for f in files]
    src = read_source(source)
    with single_threaded_cv2():
        t = time.perf_counter(); views = [source_views(to_luminance(open_image(f"{source}/{f}")), cfg) for f in src.file]; t_src = time.perf_counter() - t
        t = time.perf_counter(); rows = [trace_image(a, src, views, cfg) for a in images]; t_one = (time.perf_counter() - t) / n
        with ThreadPoolExecutor(os.cpu_count()) as ex:
            t = time.perf_counter(); list(ex.map(lambda a: trace_image(a, src, views, cfg), images)); t_pool = (time.perf_counter() - t) / n
    score, other = np.array([r["score"] for r in rows]), np.array([r["runner_up"] for r in rows])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(src)} source files, {n} images")
    print(f"source keypoints: {t_src:.1f} s; per image: {t_one:.2f} s single-threaded, {t_pool:.2f} s with {os.cpu_count()} threads")
    print(f"traced {sum(r['source_file'] != '' for r in rows)}/{n}; best score min {score.min()}, median {np.median(score):.0f}; "
          f"best other radiograph max {other.max()}; smallest ratio best/other {np.min(score / np.maximum(other, 1)):.1f}")
