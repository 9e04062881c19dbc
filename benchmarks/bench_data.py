"""Data-layer benchmark: scan/cluster/split time and tf.data throughput (images/s), plain and augmented.

Usage: python benchmarks/bench_data.py --data ../shared/data/knee-xray-pool [--batches 20]
Prints one line per measurement; the latest output is kept in benchmarks/README.md.
"""
import os, platform, tempfile, time

from fastcore.script import call_parse

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(f):
    t = time.perf_counter(); out = f(); dt = time.perf_counter() - t
    return out, dt


@call_parse
def main(data: str = "data/raw", # folder of class sub-folders
         batches: int = 20 # training batches to time
        ):
    "Data-layer benchmark: scan/cluster/split time and tf.data throughput."
    from osteo_nb.config import StudyConfig
    from osteo_nb.data import cluster, scan, split
    from osteo_nb.dataset import make_dataset
    cfg = StudyConfig(out_dir=tempfile.mkdtemp())
    recs, t_scan = timed(lambda: scan(data, cfg, progress=False))
    cl, t_cl = timed(lambda: cluster(recs, cfg))
    sp, t_sp = timed(lambda: split(cl, cfg))
    sp.attrs["root"] = recs.attrs["root"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"scan    {len(recs)} files: {t_scan:.2f} s ({len(recs) / t_scan:.0f} files/s)")
    print(f"cluster {t_cl:.2f} s, split {t_sp:.2f} s")
    for name, training in (("eval (no augmentation)", False), ("train (augmented)", True)):
        ds = make_dataset(sp, sp.attrs["root"], "train", cfg, training=training)
        next(iter(ds))  # builds the image cache and the graph
        n, t = 0, time.perf_counter()
        for i, (x, _) in enumerate(ds.repeat()):
            n += int(x.shape[0])
            if i + 1 >= batches: break
        dt = time.perf_counter() - t
        print(f"tf.data {name}: {n / dt:.0f} images/s (batch {cfg.train.batch_size}, {batches} batches)")

