"""Which source radiograph does a pool file come from? Dense normalized cross-correlation, independent of the trace.

The trace (`osteo_nb.trace`) matches SIFT keypoints with RANSAC. This audit uses no keypoints: every source
radiograph is cut into candidate regions the way the pool was made (the whole image, its left half, its right half,
each stretched to 224 x 224, each as it is and mirrored) and rescaled by a few factors; the pool file's centre
(a `--margin`-px border cut off, so that shifts of up to that many pixels are searched) is slid over each candidate
with OpenCV's `matchTemplate` (TM_CCOEFF_NORMED). Two images are correlated: the high-passed image (the image minus a
Gaussian blur of `--sigma` px), which keeps edges and bone texture and is the `score`, and the plain intensities
(`score_plain`), which mostly see the knee's silhouette. Each pool file is scored against all source radiographs, so
the runner-up is the null: how well the best *other* radiograph (not byte-identical to the winner, per files.csv)
fits. Sanity files (`--sanity`) whose source the trace names confidently show that the true source wins clearly.

Usage: python audits/audit_opposite_class.py --out audits/audit_opposite_class.csv

Writes one row per pool file x source radiograph x region (best over scales and shifts), with `rank` (the source's
rank for that pool file by its best region; byte-identical twins share a rank) and `region_rank` (the row's rank
among all of that pool file's rows), and prints a summary per pool file.
The latest result is kept in audits/README.md.
"""
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from fastcore.script import Param, call_parse

from osteo_nb.config import StudyConfig
from osteo_nb.images import open_image, read_canonical, to_luminance

FILES = ["Osteoporosis/Osteoporosis 325.jpg", "Osteoporosis/Osteoporosis 353.jpg"]
# pool files the trace assigns confidently (high inlier count, low runner-up): whole copies, a mirrored copy, crops
SANITY = ["Normal/Normal 143.jpg",          # trace: normal/N25.jpg, whole, copy (35 vs 11)
          "Osteopenia/Osteopenia 6.jpg",     # trace: osteopenia/OP71.jpg, whole, copy, mirrored (252 vs 27)
          "Normal/Normal 1.png",             # trace: normal/N11.JPEG, right crop (117 vs 10)
          "Normal/Normal 115.JPEG",          # trace: normal/N9.JPEG, left crop (227 vs 9)
          "Osteopenia/Osteopenia 136.jpg"]   # trace: osteopenia/OP121.jpg, whole, copy, mirrored (57 vs 15)
SIZE = 224


def high_pass(a: np.ndarray, sigma: float) -> np.ndarray:
    "float32 image minus its Gaussian blur."
    a = a.astype(np.float32)
    return a - cv2.GaussianBlur(a, (0, 0), sigma)


def regions(lum: np.ndarray) -> dict:
    "Candidate regions of a source radiograph, each stretched to SIZE x SIZE as the pool was made, as-is and mirrored."
    h, w = lum.shape
    cuts = {"whole": lum, "left": lum[:, : w // 2], "right": lum[:, w // 2:]}
    out = {}
    for name, r in cuts.items():
        sq = cv2.resize(r, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        out[name], out[name + "_mirrored"] = sq, np.ascontiguousarray(sq[:, ::-1])
    return out


def best_ncc(template: np.ndarray, image: np.ndarray) -> float:
    "Largest TM_CCOEFF_NORMED over all placements of `template` inside `image`."
    return float(cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED).max())


@call_parse
def main(pool: str = "../shared/data/knee-xray-pool", # the pool (class folders)
         source: str = "../shared/data/knee-tscore-source", # the source database (diagnosis folders, files.csv, patients.csv)
         files: Param("pool files to audit, relative to --pool", str, nargs="+") = FILES,
         sanity: Param("pool files with a known source, scored the same way", str, nargs="*") = SANITY,
         suspect: str = "normal/N25.jpg", # the source file the audited files are said to come from
         scales: Param("each candidate region is resized to SIZE*scale before the search", float, nargs="+") = [0.9, 1.0, 1.1, 1.2],
         margin: int = 24, # border cut off the pool file: the shift searched at scale 1
         sigma: float = 2.0, # Gaussian blur of the high-pass filter, px at 224
         out: str = "audits/audit_opposite_class.csv" # the CSV to write (one row per pool file x source radiograph x region)
        ):
    "Which source radiograph does a pool file come from? Dense normalized cross-correlation, independent of the trace."
    t0, cfg, src = time.time(), StudyConfig(), Path(source)

    sources = pd.read_csv(src / "files.csv")
    twin = dict(zip(sources.file, sources.original_sha256.str[:12]))  # byte-identical originals share this key
    patients = pd.read_csv(src / "patients.csv").set_index("patient_id")
    pool_files = list(dict.fromkeys(list(files) + list(sanity)))
    m = margin
    templates = {}
    for p in pool_files:
        q = read_canonical(Path(pool) / p, cfg.data)[m:SIZE - m, m:SIZE - m]
        templates[p] = (high_pass(q, sigma), q.astype(np.float32))

    rows, n = [], len(sources)
    for i, f in enumerate(sources.file, 1):
        views = regions(to_luminance(open_image(src / f)))
        for region, v in views.items():
            scaled = []
            for s in scales:
                side = round(SIZE * s)
                r = cv2.resize(v, (side, side), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
                scaled.append((s, high_pass(r, sigma * s), r.astype(np.float32)))
            for p, (thp, tplain) in templates.items():
                hp = [(best_ncc(thp, h), s) for s, h, _ in scaled]
                score, scale = max(hp)
                plain = max(best_ncc(tplain, r) for _, _, r in scaled)
                rows.append(dict(pool_file=p, audited=p in files, source_file=f, twin_key=twin[f],
                                 source_diagnosis=f.split("/")[0], region=region, scale=scale,
                                 score=round(score, 4), score_plain=round(plain, 4)))
        if i % 20 == 0 or i == n: print(f"{i}/{n} source files, {time.time() - t0:.0f} s", flush=True)

    df = pd.DataFrame(rows)
    best = df.groupby(["pool_file", "source_file"]).score.transform("max")
    df["rank"] = best.groupby(df.pool_file).rank(method="dense", ascending=False).astype(int)
    df["region_rank"] = df.groupby("pool_file").score.rank(method="min", ascending=False).astype(int)
    df = df.sort_values(["pool_file", "region_rank"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)

    t_score = lambda f: patients.t_score.get(Path(f).stem, float("nan"))
    print(f"\nscore = TM_CCOEFF_NORMED of the high-passed images (sigma {sigma}), best over regions, scales, shifts")
    for p, g in df.groupby("pool_file", sort=False):
        per_src = g.sort_values("score", ascending=False).drop_duplicates("source_file")
        top = per_src.iloc[0]
        twins = per_src[per_src.twin_key == top.twin_key].source_file.tolist()
        other = per_src[per_src.twin_key != top.twin_key].iloc[0]
        sus = per_src[per_src.source_file == suspect].iloc[0]
        print(f"\n{p}{'' if p in files else '  [sanity]'}")
        print(f"  best     {';'.join(twins)} (T {t_score(top.source_file)}), {top.region}, scale {top.scale}: "
              f"{top.score:.3f} (plain {top.score_plain:.3f})")
        print(f"  runner-up {other.source_file}, {other.region}: {other.score:.3f} (plain {other.score_plain:.3f}); "
              f"margin {top.score - other.score:.3f}")
        print(f"  suspect  {suspect}, {sus.region}: {sus.score:.3f} (plain {sus.score_plain:.3f}), rank {sus['rank']}")
    print(f"\nsuspect {suspect}: T-score {t_score(suspect)}, diagnosis "
          f"{patients.diagnosis.get(Path(suspect).stem)}; byte-identical files: "
          f"{[f for f in sources.file if twin[f] == twin[suspect]]}")
    print(f"wrote {out} ({len(df)} rows) in {time.time() - t0:.0f} s")

