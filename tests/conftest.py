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
