"""The smoke run that two test files read: `osteo-reproduce --profile smoke` over every study notebook, on a synthetic
data set and source database (with a pool file cut from a source radiograph).

It is the longest single piece of the test suite (about 15 minutes inside `make test` on two cores), so `tests/conftest.py` starts it in
the background when the session starts, at normal priority, while the pytest-xdist workers (at lower priority) run
everything else; the tests that read it wait for its record. Run alone: `python tests/smoke.py DIR`."""
import json, os, subprocess, sys, time, traceback
from pathlib import Path

BIN = Path(sys.executable).parent
RECORD = "run.json"  # written last, atomically: its presence means the run ended (whatever its exit status)


def make(tmp: Path) -> subprocess.CompletedProcess:
    "Write the data and source folders into `tmp` and run every study notebook on them into `tmp / 'out'`."
    import cv2, numpy as np
    from PIL import Image
    from osteo_nb.synthetic import one_knee_crop, synthetic_dataset, synthetic_source
    data = synthetic_dataset(tmp / "data", n_per_class=16, n_copies=3, n_osteopenia=2)
    source = synthetic_source(tmp / "source", n=12)  # 4 per diagnosis (3 folds in notebook 8); a pool file from it: a left-knee crop of OP2, filed as normal
    two_knee = cv2.resize(np.asarray(Image.open(source / "osteopenia/OP2.png")), (224, 224), interpolation=cv2.INTER_AREA)
    Image.fromarray(one_knee_crop(two_knee, "left")).save(data / "Normal/from source.png")
    args = [str(BIN / "osteo-reproduce"), "--data", str(data), "--profile", "smoke", "--out", str(tmp / "out"),
            "--set", f"source_data={source}"]
    with open(tmp / "run.out", "w") as out, open(tmp / "run.err", "w") as err:  # written as it goes: `_log` reads them
        r = subprocess.run(args, stdout=out, stderr=err, text=True)
    return subprocess.CompletedProcess(args, r.returncode, (tmp / "run.out").read_text(), (tmp / "run.err").read_text())


def write_record(tmp: Path, args, returncode: int, stdout: str, stderr: str):
    "Save a run's outcome as `tmp / RECORD` (through a temporary name, so a reader never sees half of it)."
    part = tmp / (RECORD + ".part")
    part.write_text(json.dumps({"args": list(map(str, args)), "returncode": returncode, "stdout": stdout, "stderr": stderr}))
    part.replace(tmp / RECORD)


def make_and_record(tmp: Path):
    "`make`, then `write_record`; a failure to even start the run is recorded too (return code -1, the traceback as stderr)."
    tmp.mkdir(parents=True, exist_ok=True)
    try: r = make(tmp)
    except Exception: write_record(tmp, ["tests/smoke.py", tmp], -1, "", traceback.format_exc())
    else: write_record(tmp, r.args, r.returncode, r.stdout, r.stderr)


def start(tmp: Path) -> subprocess.Popen:
    "`make_and_record` in a background process of its own (its pid in `tmp / 'pid'`)."
    tmp.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen([sys.executable, __file__, str(tmp)], stdout=subprocess.DEVNULL, stderr=open(tmp / "starter.log", "w"),
                         start_new_session=True)  # its own process group, so `stop` ends the notebooks' kernels too
    (tmp / "pid").write_text(str(p.pid))
    return p


def stop(p: subprocess.Popen):
    "End a run `start`ed by this process that is still going (a test session that ends before it), kernels included."
    if p.poll() is None:
        os.killpg(p.pid, 15)
        p.wait()


LIMIT = 60 * 60  # seconds: a smoke run still going after this is taken to hang (about 15 minutes inside `make test` on two cores, 40+ on a slow day)


def wait(tmp: Path, poll: float = 2.0, limit: float = LIMIT) -> subprocess.CompletedProcess:
    """Wait for the run `start`ed in `tmp` to record its outcome; an error if its process ended without a record, or if it
    has not ended `limit` seconds after it started (its pid file's time)."""
    while not (tmp / RECORD).exists():
        pid = int((tmp / "pid").read_text())
        if not _alive(pid) and not (tmp / RECORD).exists():
            raise RuntimeError(f"the smoke run (pid {pid}) ended without writing {tmp / RECORD}: {_log(tmp)}")
        if time.time() - (tmp / "pid").stat().st_mtime > limit:
            raise TimeoutError(f"the smoke run (pid {pid}) has not ended {limit:.0f} s after it started: {_log(tmp)}")
        time.sleep(poll)
    rec = json.loads((tmp / RECORD).read_text())
    return subprocess.CompletedProcess(rec["args"], rec["returncode"], rec["stdout"], rec["stderr"])


def wait_for_notebook(tmp: Path, name: str, poll: float = 2.0, limit: float = LIMIT) -> Path:
    """Wait until the run `start`ed in `tmp` has run study notebook `name` (its manifest says "ok"), without waiting for the
    rest; returns the run folder. An error if the run ended, or `limit` seconds passed, without it."""
    while True:
        for manifest in (tmp / "out/runs").glob("*/manifest.json"):  # written atomically after every notebook
            if json.loads(manifest.read_text())["notebooks"].get(name, {}).get("status") == "ok": return manifest.parent
        if (tmp / RECORD).exists() or not _alive(int((tmp / "pid").read_text())):
            raise RuntimeError(f"the smoke run ended without running {name}: {_log(tmp)}")
        if time.time() - (tmp / "pid").stat().st_mtime > limit:
            raise TimeoutError(f"the smoke run has not run {name} {limit:.0f} s after it started: {_log(tmp)}")
        time.sleep(poll)


def written_by(run_dir: Path, names) -> list[str]:
    "The files (relative to `run_dir`) that study notebooks `names` of a run wrote, from its manifest."
    steps = json.loads((run_dir / "manifest.json").read_text())["notebooks"]
    return sorted({f for n in names for f in steps[n]["wrote"]})


def _log(tmp: Path) -> str:
    "The ends of the starter's log and of the run's output so far, for an error message."
    tail = lambda name: (tmp / name).read_text()[-2000:] if (tmp / name).exists() else "(none)"
    return f"\nstarter.log: {tail('starter.log')}\nrun.out: {tail('run.out')}\nrun.err: {tail('run.err')}"


def _alive(pid: int) -> bool:
    "Whether process `pid` still runs (an ended child that its parent has not yet reaped, a zombie, does not)."
    try: os.kill(pid, 0)
    except ProcessLookupError: return False
    except PermissionError: return True
    try: return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError: return True


if __name__ == "__main__": make_and_record(Path(sys.argv[1]))
