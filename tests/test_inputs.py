"Issue 29: no input crashes with a traceback, no cache is trusted unchecked (`osteo-data`, `osteo-reproduce`, the trace, the split)."
import json, signal, subprocess, sys, time
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from conftest import ROOT, cli
from osteo_nb.config import StudyConfig
from osteo_nb.images import DataError
from osteo_nb.data import read_records
from osteo_nb.synthetic import synthetic_dataset, synthetic_source


def one_line(r) -> str:
    "The one line a failed command printed on stderr (asserting it failed, in one line, without a traceback)."
    assert r.returncode != 0, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def split(data, out, *args):
    return cli("osteo-data", "split", "--data", data, "--out", out, "--quiet", *args)


# 1. a JPEG cut inside its header

def test_a_jpeg_cut_inside_its_header_is_excluded_with_its_reason(tmp_path):
    "`head -c 200 x.jpg > cut.jpg`: Pillow raises OSError('Truncated File Read') in Image.open; the scan lists the file instead."
    from osteo_nb.report import exclusions_table
    data = synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0)
    (data / "Normal/cut.jpg").write_bytes((data / "Normal/Normal 1.jpg").read_bytes()[:200])
    r = split(data, tmp_path / "s.csv")
    assert r.returncode == 0, r.stderr
    ex = exclusions_table(read_records(tmp_path / "s.csv")).set_index("path")
    assert ex.at["Normal/cut.jpg", "status"] == "unreadable"
    assert ex.at["Normal/cut.jpg", "reason"].startswith("corrupt or truncated image (OSError: Truncated File Read")


# 2. the source database's patients.csv, checked where it is read

@pytest.fixture
def source(tmp_path):
    return synthetic_source(tmp_path / "source", n=6)


PATIENT_TABLES = {  # what patients.csv says -> what the error must say (file, line, column)
    "no t_score column": ("patient_id,T\nN1,-0.5\n", "patients.csv, line 1: no column 't_score' (its columns: patient_id, T)"),
    "no patient_id column": ("id,t_score\nN1,-0.5\n", "patients.csv, line 1: no column 'patient_id' (its columns: id, t_score)"),
    "a repeated patient_id": ("patient_id,t_score\nN1,-0.5\nOP2,-1.8\nN1,-0.6\n",
                              "patients.csv, line 4, column patient_id: 'N1' again (first on line 2)"),
    "a decimal comma": ('patient_id,t_score\nN1,-0.5\nOP2,"-1,98"\n',
                        "patients.csv, line 3 (patient 'OP2'), column t_score: '-1,98' is not a number (a decimal comma? write -1.98)"),
    "an unquoted decimal comma": ("patient_id,t_score\nN1,-0,5\n", "patients.csv, line 2: 3 fields, but the header has 2"),
}


@pytest.mark.parametrize("case", PATIENT_TABLES)
def test_patients_csv_problems_are_one_line_each_naming_file_line_and_column(source, case):
    from osteo_nb.trace import read_source
    text, expected = PATIENT_TABLES[case]
    (source / "patients.csv").write_text(text)
    with pytest.raises(DataError) as e: read_source(source)
    assert expected in str(e.value) and str(source / "patients.csv") in str(e.value)


def test_every_problem_of_patients_csv_is_listed_once(source):
    from osteo_nb.trace import read_source
    (source / "patients.csv").write_text('patient_id,t_score\nN1,"-0,5"\nN1,-0.6\n,-1\n')  # a decimal comma, a repeated id, an empty id
    with pytest.raises(DataError) as e: read_source(source)
    lines = str(e.value).splitlines()
    assert len(lines) == 3 and all(l.startswith(f"{source / 'patients.csv'}, line ") for l in lines), lines


def test_a_missing_patients_csv_stops_the_study_and_warns_the_trace(source):
    "The study needs T-scores (an error); the trace of `osteo-data trace` and `split --source` does not (a warning, no T-scores)."
    from osteo_nb.trace import read_source
    (source / "patients.csv").unlink()
    with pytest.raises(DataError, match="patients.csv: missing: the source database's T-scores come from it"): read_source(source)
    with pytest.warns(UserWarning, match="the trace goes on without T-scores"):
        assert read_source(source, require_t_scores=False).t_score.isna().all()


def test_capitalised_source_folders_are_found(source):
    from osteo_nb.trace import read_source
    before = read_source(source)
    for d in ("normal", "osteopenia", "osteoporosis"): (source / d).rename(source / d.capitalize())
    after = read_source(source)
    assert after.drop(columns="file").equals(before.drop(columns="file"))
    assert set(after.file.str.split("/").str[0]) == {"Normal", "Osteopenia", "Osteoporosis"}


# 3. a trace cache cut short

def test_a_cut_trace_cache_is_traced_again_with_a_notice(tmp_path, source, capsys):
    from osteo_nb.trace import trace
    data = synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0)
    cfg = StudyConfig(cache_dir=str(tmp_path / "cache"))
    full = trace(data, source, cfg, progress=False, workers=1)
    (cached,) = (tmp_path / "cache/trace").glob("*.csv")
    cached.write_text("".join(cached.read_text().splitlines(keepends=True)[:10]))  # the header and 9 of 12 rows
    capsys.readouterr()
    again = trace(data, source, cfg, progress=False, workers=1)
    out = capsys.readouterr().out
    assert "does not fit the data folder: 9 rows for the data folder's 12 files (3 files missing, 0 rows of other files); traced again" in out
    assert len(again) == 12 and again.equals(full)
    assert len(pd.read_csv(cached)) == 12  # the cache is whole again


# 4. --set: one line, before any work

SETS = {  # command line -> what its one line must say
    "reproduce data_dir": (["osteo-reproduce", "--set", "data_dir=x"], "--set data_dir=x: data_dir has its own option: use --data instead of --set"),
    "reproduce out_dir": (["osteo-reproduce", "--set", "out_dir=/tmp/elsewhere"], "out_dir has its own option: use --out"),
    "reproduce seed": (["osteo-reproduce", "--seed", "3", "--set", "seed=4"], "seed has its own option: use --seed"),
    "reproduce profile": (["osteo-reproduce", "--set", "profile=bogus"], "profile has its own option: use --profile"),
    "reproduce hflip": (["osteo-reproduce", "--set", "hflip=maybe"], "osteo-reproduce: --set hflip=maybe: expected true or false, got 'maybe'"),
    "data seed": (["osteo-data", "split", "--set", "seed=3"], "osteo-data: --set seed=3: seed has its own option: use --seed instead of --set"),
    "data split_mode": (["osteo-data", "split", "--set", "split_mode=paper"], "split_mode has its own option: use --mode"),
}


@pytest.mark.parametrize("case", SETS)
def test_set_errors_are_one_line_before_any_work(tmp_path, case):
    args, expected = SETS[case]
    data = synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0)
    r = cli(*args, "--data", data, "--out", tmp_path / ("out" if args[0] == "osteo-reproduce" else "s.csv"))
    line = one_line(r)
    assert expected in line, line
    assert line.count(": --set ") == 1  # the prefix is not doubled (it was "--set hflip=maybe: --set hflip: ...")
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.csv").exists()  # nothing was done


# 5. bad values that used to fail inside a notebook, checked before the first

def test_bad_values_fail_before_the_first_notebook(tmp_path):
    data = synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0)
    source = synthetic_source(tmp_path / "source", n=6)
    run = lambda *s: cli("osteo-reproduce", "--data", data, "--profile", "smoke", "--out", tmp_path / "out", "--only", "01", *s)
    cases = {"cv_folds=50": "osteo-reproduce: cv_folds=50: more folds than image files in data_dir=",
             "source_data=/nowhere": "osteo-reproduce: source_data='/nowhere': /nowhere: source database not found",
             "cache_dir=/proc/nope": "osteo-reproduce: cache_dir='/proc/nope': cannot write there",
             f"source_data={source},cv_folds=3": "cv_folds=3: more folds than radiographs in source_data="}
    for setting, expected in cases.items():
        r = run("--set", setting)
        assert expected in one_line(r), (setting, r.stderr)
        assert "01_data_report.ipynb" not in r.stdout, (setting, r.stdout)
    (source / "patients.csv").write_text("patient_id,t_score\nN1,-0.5\nN1,-0.6\n")  # a repeated patient: used to fail in notebook 1
    r = run("--set", f"source_data={source}")
    assert r.returncode != 0 and "patients.csv, line 3, column patient_id: 'N1' again" in r.stderr and "Traceback" not in r.stderr
    assert "01_data_report.ipynb" not in r.stdout and not (tmp_path / "out/runs").exists()


# 6. a split without validation or test images

def test_a_split_without_val_or_test_images_is_refused_with_the_counts(tmp_path):
    "Every file a copy, one radiograph per class: the grouped split can only fill train."
    data = synthetic_dataset(tmp_path / "d", n_per_class=1, n_copies=1)
    line = one_line(split(data, tmp_path / "s.csv"))
    assert "grouped split leaves val without normal, val without osteoporosis, test without normal, test without osteoporosis" in line
    assert "train: normal 1, osteoporosis 1; val: normal 0, osteoporosis 0; test: normal 0, osteoporosis 0" in line
    assert "of 4 files 2 are duplicates" in line and not (tmp_path / "s.csv").exists()


# 7 and 8. one run per run folder, a stopped run marked interrupted, and the kernel's progress on the console

RUNNER = """
import sys
from pathlib import Path
import osteo_nb.cli as cli, osteo_nb.reproduce as reproduce
reproduce.study_notebooks = lambda folder=None: sorted(Path({study!r}).glob("[0-9][0-9]_*.ipynb"))  # the command imports it when run
sys.argv = ["osteo-reproduce", *{args!r}]
sys.exit(cli.osteo_reproduce())
"""


def runner(study: Path, log: Path, *args) -> subprocess.Popen:
    "`osteo-reproduce ARGS` running the study notebooks in `study`, its stdout and stderr in `log`.out and `log`.err."
    script = Path(f"{log}.py")  # a script, as the console script is: `call_parse` reads sys.argv only when called from a module
    script.write_text(RUNNER.format(study=str(study), args=[str(a) for a in args]))
    return subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=open(f"{log}.out", "w"), stderr=open(f"{log}.err", "w"), text=True,
                            preexec_fn=_ctrl_c_as_at_a_terminal)


def _ctrl_c_as_at_a_terminal():
    "In the child: SIGINT does what it does at a terminal, even where the suite itself was started with SIGINT ignored."
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a `make test &` in a non-interactive shell hands SIG_IGN down to every process


LOADED = 300  # seconds a step of these tests may take: `make test` runs three things at once on two cores, at lower priority


def wait_for(check, proc: subprocess.Popen, log: Path, what: str, timeout: float = LOADED):
    "Wait until `check()` while `proc` runs."
    t0 = time.time()
    while not check():
        if proc.poll() is not None: raise AssertionError(f"ended ({proc.returncode}) before {what}: {Path(f'{log}.err').read_text()[-2000:]}")
        if time.time() - t0 > timeout: raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture
def slow_study(tmp_path):
    "A one-notebook study that loops for minutes under a tqdm bar named LIME, and synthetic data."
    import nbformat
    study = tmp_path / "study"; study.mkdir()
    params = 'profile = "smoke"\ndata_dir = "data/raw"\nout_dir = "."\nseed = 42\noverrides = {}'
    body = "from tqdm.auto import tqdm\nimport time\nfor _ in tqdm(range(3000), desc='LIME'): time.sleep(0.1)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, study / "01_slow.ipynb")
    return study, synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0)


def manifest_status(out: Path) -> str | None:
    found = list(out.glob("runs/*/manifest.json"))
    try: return json.loads(found[0].read_text())["notebooks"]["01_slow.ipynb"]["status"] if found else None
    except (ValueError, KeyError): return None


@pytest.mark.parametrize("sig,how", [(signal.SIGTERM, "stopped by SIGTERM"), (signal.SIGINT, "Ctrl-C")])
def test_a_second_run_is_refused_and_a_stopped_run_is_interrupted(tmp_path, slow_study, sig, how):
    study, data = slow_study
    args = ("--data", data, "--profile", "smoke", "--out", tmp_path / "out")
    first, second = runner(study, tmp_path / "first", *args), None
    try:
        wait_for(lambda: manifest_status(tmp_path / "out") == "running", first, tmp_path / "first", "the first run to start its notebook")
        second = runner(study, tmp_path / "second", *args, "--force")
        assert second.wait(timeout=LOADED) != 0  # 7: refused at once, naming the first
        err = Path(f"{tmp_path / 'second'}.err").read_text().strip().splitlines()
        assert len(err) == 1 and "is in use by another osteo-reproduce (pid " + str(first.pid) in err[0], err
        progress = lambda: "[osteo-reproduce] 01_slow.ipynb: LIME: " in Path(f"{tmp_path / 'first'}.out").read_text()
        wait_for(progress, first, tmp_path / "first", "the kernel's progress on the console")  # 8: the bar's stage, count, rate and time left
        line = [l for l in Path(f"{tmp_path / 'first'}.out").read_text().splitlines() if "LIME: " in l][0]
        assert "/3000 (" in line and " it/s, " in line and " left" in line, line
        assert manifest_status(tmp_path / "out") == "running"
        first.send_signal(sig)
        assert first.wait(timeout=LOADED) == 130
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None: proc.kill()
    err = Path(f"{tmp_path / 'first'}.err").read_text()
    assert "Traceback" not in err and f"osteo-reproduce: interrupted ({how} during 01_slow.ipynb)" in err, err
    assert manifest_status(tmp_path / "out") == "interrupted"


def test_run_notebook_forwards_the_kernels_progress(tmp_path, slow_study, capsys):
    "The library call behind it: `every` seconds at most, one line with the stage, count, rate and time left."
    import nbformat
    from osteo_nb.reproduce import run_notebook
    study, _ = slow_study
    nb = nbformat.read(study / "01_slow.ipynb", as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("range(3000)", "range(30)")
    nbformat.write(nb, tmp_path / "short.ipynb")
    run_notebook(tmp_path / "short.ipynb", tmp_path / "short_run.ipynb", {}, progress=False, every=0.5)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[osteo-reproduce] short_run.ipynb: LIME: ")]
    assert lines and all("/30 (" in l for l in lines), lines
    assert not list(tmp_path.glob(".*progress"))


# 9. images without content

def test_tiny_and_uniform_images_are_excluded_with_a_reason(tmp_path):
    data = synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0)
    Image.new("L", (1, 1)).save(data / "Normal/dot.png")
    Image.new("L", (1, 3000), 255).save(data / "Osteoporosis/line.png")
    Image.new("L", (3000, 1), 0).save(data / "Normal/row.png")
    Image.new("RGB", (300, 300), (128, 128, 128)).save(data / "Osteoporosis/grey.jpg")
    r = split(data, tmp_path / "s.csv")
    assert r.returncode == 0, r.stderr
    recs = read_records(tmp_path / "s.csv").set_index("path")
    odd = ["Normal/dot.png", "Osteoporosis/line.png", "Normal/row.png", "Osteoporosis/grey.jpg"]
    assert recs.loc[odd, "status"].tolist() == ["excluded"] * 4 and recs.loc[odd, "split"].tolist() == [""] * 4
    assert recs.at["Osteoporosis/line.png", "reason"] == "no image content: 1x3000 px (a radiograph needs at least 32 px per side)"
    assert recs.at["Osteoporosis/grey.jpg", "reason"].startswith("no image content: uniform (every pixel ")
