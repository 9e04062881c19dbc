"Shared fixtures: a tiny synthetic data set with every kind of bad input, the real pool, CLI runners, the smoke run."
import fcntl, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from osteo_nb.config import pool_dir
from osteo_nb.synthetic import synthetic_dataset

import smoke  # tests/smoke.py

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


SMOKE_READERS = "test_reproduce.py", "test_jupyterlab.py"  # the files that read the smoke run (`smoke_run`)


def pytest_configure(config):
    """pytest-xdist workers run below normal priority, so the smoke run that the session starts in the background
    (`pytest_sessionstart`), the longest single piece of the suite, keeps a core of its own."""
    if os.environ.get("PYTEST_XDIST_WORKER"): os.nice(5)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts its workers
def pytest_sessionstart(session):
    "Start the smoke run in the background, once per session (not in a pytest-xdist worker), when it will be read."
    if os.environ.get("PYTEST_XDIST_WORKER") or session.config.option.collectonly or not _reads_smoke_run(session.config): return
    if (p := _start_once(session.config._tmp_path_factory.getbasetemp() / "smoke")) is not None: session.config._smoke = p


def pytest_sessionfinish(session):
    "Stop a smoke run that the session no longer needs (one that is still going when every test has ended)."
    if hasattr(session.config, "_smoke"): smoke.stop(session.config._smoke)


def _reads_smoke_run(config) -> bool:
    "Whether the command line selects a file that reads the smoke run (the tests folder, or one of `SMOKE_READERS`)."
    tests, here = Path(__file__).resolve().parent, Path(config.invocation_params.dir)
    paths = {(here / a.split("::")[0]).resolve() for a in config.args} or {here.resolve()}
    return any(p in paths for p in (tests, ROOT.resolve(), *(tests / f for f in SMOKE_READERS)))


def cli(name, *args, cwd=ROOT, check=False):
    "Run an installed command line; returns the CompletedProcess (text)."
    r = subprocess.run([str(BIN / name), *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if check and r.returncode: raise AssertionError(f"{name} {args} failed:\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture
def pool():
    "The shared pool of real radiographs; the test is skipped where it is absent."
    p = pool_dir()
    if p is None: pytest.skip("the shared pool is absent (OSTEO_POOL; make test sets ../shared/data/knee-xray-pool)")
    return p


@pytest.fixture
def messy(tmp_path):
    "A synthetic data set with bad files, odd colour modes and re-encoded copies of one radiograph (a fresh copy per test: tests may change it)."
    return make_messy(tmp_path)


def make_messy(tmp_path):
    "`messy` in `tmp_path / 'messy'`."
    d = synthetic_dataset(tmp_path / "messy", n_per_class=14, n_copies=0, seed=1)
    n, o = d / "Normal", d / "Osteoporosis"
    (n / "zero.png").write_bytes(b"")
    (n / "text.png").write_text("this is not an image")
    (n / "corrupt.jpg").write_bytes((o / "Osteoporosis 1.jpg").read_bytes()[:1500])
    a = np.asarray(Image.open(o / "Osteoporosis 2.jpg").convert("L"))
    Image.fromarray(a.astype(np.uint16) * 257).save(o / "sixteen.png")          # 16-bit greyscale
    Image.fromarray(a).convert("RGBA").save(o / "rgba.png")                       # RGBA
    Image.fromarray(a).convert("CMYK").save(o / "cmyk.jpg", quality=95)           # CMYK JPEG
    b = np.asarray(Image.open(n / "Normal 2.jpg").convert("L"))
    Image.fromarray(b).convert("P").save(n / "palette.png")                       # palette
    Image.new("L", (9000, 8000)).save(n / "huge.png")                             # 72 Mpx > max_pixels
    Image.fromarray(b).resize((3000, 2500)).save(n / "large.jpg")                 # large but allowed
    # one radiograph three times: PNG greyscale, JPEG RGB, PNG RGB
    src = Image.open(n / "Normal 0.png").convert("L")
    src.convert("RGB").save(n / "copy_rgb.jpg", quality=80)
    src.convert("RGB").save(n / "copy_rgb.png")
    return d


def _shared_folder(tmp_path_factory) -> Path:
    "The test session's temporary folder: with pytest-xdist (`make test`), the one above every worker's own."
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def smoke_dir(tmp_path_factory) -> Path:
    """The folder of the session's smoke run (`tests/smoke.py`): started in the background when the session starts
    (`pytest_sessionstart`), or here if the session did not, under a file lock (so the pytest-xdist workers of `make
    test` never start two). Not waited for: see `smoke_run`, or `smoke.wait_for_notebook` for a test that needs only
    the first notebooks."""
    tmp = _shared_folder(tmp_path_factory) / "smoke"
    _start_once(tmp)
    return tmp


@pytest.fixture(scope="session")
def smoke_run(smoke_dir):
    """One `osteo-reproduce --profile smoke` run of every study notebook (`tests/smoke.py`), shared by the tests that
    read it, once it has ended: (data folder, source folder, output root, the CompletedProcess)."""
    return smoke_dir / "data", smoke_dir / "source", smoke_dir / "out", smoke.wait(smoke_dir)


def _start_once(tmp: Path):
    "`smoke.start(tmp)` unless a run was started there already (checked under a file lock); the process, or None."
    tmp.mkdir(parents=True, exist_ok=True)
    with open(tmp.parent / "smoke.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return None if (tmp / "pid").exists() else smoke.start(tmp)


def threshold_disagreements(results: Path, threshold: float = 0.5) -> dict:
    """CSV name -> (rows whose `y_pred` is not `p_osteoporosis >= threshold`, rows without a `y_pred`), for every CSV under
    `results` that has both columns."""
    import pandas as pd
    bad = {}
    for p in sorted(Path(results).glob("*.csv")):
        t = pd.read_csv(p)
        if {"y_pred", "p_osteoporosis"} <= set(t.columns):
            given = t.y_pred.notna()
            bad[p.name] = (int((t.y_pred[given] != (t.p_osteoporosis[given] >= threshold).astype(int)).sum()), int((~given).sum()))
    return bad


def _exact_mcnemar_p(b: int, c: int) -> float:
    "Two-sided exact McNemar p from the discordant counts, summed here from binomial coefficients (not the library's call)."
    from math import comb
    n = b + c
    return 1.0 if n == 0 else min(1.0, 2 * sum(comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)


def protocol_mismatches(results: Path) -> list[str]:
    """Every number of `protocol_factorial.csv` and of the paired rows of `validity_protocol.csv` that differs from its
    recomputation from `protocol_predictions.csv` (plain pandas: accuracies, gains, discordant counts, exact McNemar p,
    the spread over seeds and the re-split gain on test images in and not in the mask models' training split)."""
    import numpy as np, pandas as pd
    preds = pd.read_csv(results / "protocol_predictions.csv", keep_default_na=False)
    table = pd.read_csv(results / "protocol_factorial.csv", keep_default_na=False)
    rows = pd.read_csv(results / "validity_protocol.csv", keep_default_na=False)
    preds["right"] = (preds.p_osteoporosis.astype(float) >= 0.5).astype(int) == preds.y_true.astype(int)
    bad, means, close = [], {}, lambda a, b: (a in ("", "nan") and not np.isfinite(b)) or (a not in ("", "nan") and abs(float(a) - b) < 1e-4)
    for (split, partition, model), cell in preds.groupby(["split", "partition", "model"], sort=False):
        per_seed = []
        for seed, s in cell.groupby("seed"):
            o = s[s.condition == "original images"].set_index("path")
            m = s[s.condition == "LIME masks"].set_index("path").loc[o.index]
            b, c = int((m.right & ~o.right).sum()), int((~m.right & o.right).sum())
            inside = o.image_in_mask_training.astype(str) == "True"
            per_seed.append(dict(seed=int(seed), n=len(o), original=o.right.mean(), lime_masks=m.right.mean(), b=b, c=c,
                                 gain=m.right.mean() - o.right.mean(), p=_exact_mcnemar_p(b, c),
                                 d_in=float((m.right.astype(int) - o.right.astype(int))[inside].sum()), n_in=int(inside.sum()),
                                 d_out=float((m.right.astype(int) - o.right.astype(int))[~inside].sum()), n_out=int((~inside).sum())))
            where = f"{split}, {partition}, {'training' if partition == 'same partition' else 'split'} seed {int(seed)}"
            vs = rows[(rows.model == model) & (rows.condition == f"{where}: LIME masks vs original images")].set_index("metric")
            if not close(vs.at["accuracy_difference", "value"], per_seed[-1]["gain"]): bad.append(f"{where}, {model}: gain")
            if not close(vs.at["mcnemar_p", "value"], per_seed[-1]["p"]): bad.append(f"{where}, {model}: McNemar p")
            if vs.at["mcnemar_p", "shows"] != f"right only with LIME masks: {b}, only with original images: {c}":
                bad.append(f"{where}, {model}: discordant counts")
        first = per_seed[0]
        want = {"n": first["n"], "original": first["original"], "lime_masks": first["lime_masks"], "gain": first["gain"],
                "only_masks_right": first["b"], "only_original_right": first["c"], "mcnemar_p": first["p"],
                "primary_seed": first["seed"], "seeds": len(per_seed),
                "gain_mean": np.mean([s["gain"] for s in per_seed]), "gain_min": min(s["gain"] for s in per_seed),
                "gain_max": max(s["gain"] for s in per_seed)}
        n_in, n_out = sum(s["n_in"] for s in per_seed), sum(s["n_out"] for s in per_seed)
        if partition == "re-split":
            want |= {"n_in_training": n_in, "n_not_in_training": n_out,
                     "gain_in_training": sum(s["d_in"] for s in per_seed) / n_in if n_in else np.nan,
                     "gain_not_in_training": sum(s["d_out"] for s in per_seed) / n_out if n_out else np.nan}
        else: want |= {"n_in_training": 0, "n_not_in_training": 0, "gain_in_training": np.nan, "gain_not_in_training": np.nan}
        got = table[(table.split == split) & (table.partition == partition) & (table.model == model)]
        if len(got) != 1: bad.append(f"{split}, {partition}, {model}: {len(got)} rows in protocol_factorial.csv"); continue
        bad += [f"{split}, {partition}, {model}: {k} {got.iloc[0][k]}, recomputed {float(v):.6g}"
                for k, v in want.items() if not close(str(got.iloc[0][k]), float(v))]
        means[split, partition, model] = want["gain_mean"]
    return bad + _decomposition_mismatches(results, means)


def _decomposition_mismatches(results: Path, means: dict) -> list[str]:
    """`protocol_decomposition.csv` against the steps recomputed from the mean gains (`means`: (split, partition, model) ->
    mean gain over seeds) and the paper's gains from its confusion-matrix counts (`metrics.PAPER_TABLE2`, transcribed)."""
    import numpy as np, pandas as pd
    from osteo_nb.metrics import PAPER_TABLE2
    cm = PAPER_TABLE2.assign(acc=lambda d: (d.tn + d.tp) / (d.tn + d.fp + d.fn + d.tp)).set_index(["model", "dataset"]).acc
    steps, bad = pd.read_csv(results / "protocol_decomposition.csv"), []
    for model in sorted({m for _, _, m in means}):
        g = lambda split, partition: means.get((split, partition, model), np.nan)
        paper = cm[model.split(" ")[0], "new"] - cm[model.split(" ")[0], "original"]
        want = [g("exposure-grouped", "same partition"), g("naive file split", "same partition") - g("exposure-grouped", "same partition"),
                g("naive file split", "re-split") - g("naive file split", "same partition")]
        want.append(paper - np.nansum(want))
        got = steps[steps.model == model]
        if not np.allclose(got.gain.to_numpy(float), want, atol=1e-4, equal_nan=True): bad.append(f"{model}: decomposition {got.gain.tolist()}, recomputed {want}")
        if not np.allclose(got.share_of_paper_gain.to_numpy(float), np.array(want) / paper, atol=1e-3, equal_nan=True):
            bad.append(f"{model}: shares of the paper's gain")
    return bad
