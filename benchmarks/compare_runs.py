"""Compare the outputs of a run with the published run's, file by file.

    python benchmarks/compare_runs.py runs/<run-id> [--published results/manifest.json] [--out compare.csv]

Every output the run's manifest lists (`results/*`, `figures/*`) is looked up in the published manifest and the
files' sha256 digests are compared: `identical`, `differs` or `not published`. Where a CSV differs, each
differing column is named with how much it differs: the largest absolute difference for a numeric column, the
number of differing cells for any other; a figure that differs is only reported (PNG bytes change with any
title or font detail).
The digests are those the manifests recorded when the files were written, and each is rechecked against the
file on disk, so an output edited after its run shows up as `changed since its run`.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from osteo_nb.provenance import sha256_file


def csv_difference(a: Path, b: Path) -> str:
    "How two versions of one CSV differ: per differing column, the largest numeric difference or the number of differing cells."
    x, y = pd.read_csv(a, keep_default_na=False), pd.read_csv(b, keep_default_na=False)
    if list(x.columns) != list(y.columns): return f"columns differ: {sorted(set(x.columns) ^ set(y.columns))}"
    if len(x) != len(y): return f"rows {len(x)} vs {len(y)}"
    out = []
    for c in x.columns:
        u, v = pd.to_numeric(x[c], errors="coerce"), pd.to_numeric(y[c], errors="coerce")
        if u.notna().all() and v.notna().all():
            if (d := float(np.abs(u - v).max()) if len(u) else 0.0): out.append(f"{c}: max |difference| {d:.3g}")
        elif n := int((x[c].astype(str) != y[c].astype(str)).sum()): out.append(f"{c}: {n} cells differ")
    return "; ".join(out) or "same values, other bytes (formatting)"


def compare(run: Path, published: Path) -> pd.DataFrame:
    "One row per output of `run`: its status against the published manifest, and for a differing CSV, how much."
    mine = json.loads((run / "manifest.json").read_text())["outputs"]
    pub_root = published.parent.parent
    theirs = json.loads(published.read_text())["outputs"]
    rows = []
    for rel, digest in sorted(mine.items()):
        here, there = run / rel, pub_root / rel
        if sha256_file(here) != digest: status, detail = "changed since its run", ""
        elif rel not in theirs: status, detail = "not published", ""
        elif sha256_file(there) != theirs[rel]: status, detail = "published file changed since its run", ""
        elif digest == theirs[rel]: status, detail = "identical", ""
        else:
            status = "differs"
            detail = csv_difference(here, there) if rel.endswith(".csv") else ""
        rows.append(dict(output=rel, status=status, detail=detail))
    return pd.DataFrame(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="the run folder (holds manifest.json)")
    p.add_argument("--published", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "manifest.json")
    p.add_argument("--out", type=Path, help="also write the comparison as CSV")
    a = p.parse_args()
    t = compare(a.run, a.published)
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 90, "display.width", 200): print(t.to_string(index=False))
    print(t.status.value_counts().to_string())
    if a.out: t.to_csv(a.out, index=False)


if __name__ == "__main__": main()
