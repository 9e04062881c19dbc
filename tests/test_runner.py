"""`osteo-reproduce` without the shared smoke run: profiles without controls, failing notebooks, bad arguments, other seeds,
a machine without network (each on a tiny data set of its own; `make test` runs this file beside the smoke run)."""
import json, os, shutil, subprocess
import pytest

from conftest import BIN, cli
from osteo_nb.provenance import sha256_file
from osteo_nb.synthetic import synthetic_dataset


def reproduce(data, out, *args):
    return cli("osteo-reproduce", "--data", data, "--profile", "smoke", "--out", out, *args)


def test_controls_off_retrains_and_writes_nothing(tmp_path):
    "Notebooks 10 and 11 without `controls` (every profile but smoke and validity) read nothing and write nothing."
    data = synthetic_dataset(tmp_path / "data", n_per_class=6)
    r = reproduce(data, tmp_path / "out", "--set", "controls=false", "--only", "validity_c")  # 10_validity_controls and 11_validity_cv
    assert r.returncode == 0, r.stderr
    (run_dir,) = (tmp_path / "out/runs").iterdir()
    assert (run_dir / "10_validity_controls.ipynb").exists() and (run_dir / "11_validity_cv.ipynb").exists()
    assert [p.name for p in run_dir.glob("results/*")] == ["manifest.json"] and not list(run_dir.glob("figures/*"))
    assert not (tmp_path / "out/.cache/models").exists()


def test_a_failing_notebook_names_itself_and_the_cell(tmp_path):
    data = synthetic_dataset(tmp_path / "data", n_per_class=6)
    shutil.rmtree(data / "Osteoporosis"); (data / "Osteoporosis").mkdir(); (data / "Normal" / "x").mkdir()
    r = reproduce(data, tmp_path / "out")
    assert r.returncode != 0
    assert "01_data_report.ipynb failed in cell" in r.stderr and "DataError" in r.stderr


def test_missing_data_is_a_clear_error(tmp_path):
    r = reproduce(tmp_path / "none", tmp_path / "out")
    assert r.returncode != 0 and "data folder not found" in r.stderr and "data/raw" in r.stderr


def test_runs_with_other_seeds_are_isolated(tmp_path):
    "Seeds 1, 2, 1 into one --out: each run reads and writes its own folder; incomplete runs publish nothing."
    data = synthetic_dataset(tmp_path / "data", n_per_class=16, n_copies=3)
    out = tmp_path / "out"
    for s in (1, 2, 1):
        r = reproduce(data, out, "--seed", s, "--only", "01")
        assert r.returncode == 0, r.stderr
    runs = {json.loads((d / "manifest.json").read_text())["config"]["seed"]: d for d in (out / "runs").iterdir()}
    assert sorted(runs) == [1, 2]
    for seed, d in runs.items():
        m = json.loads((d / "manifest.json").read_text())
        assert m["split"]["sha256"] == sha256_file(d / "results/split.csv")  # each manifest describes its own split
    assert (runs[1] / "results/split.csv").read_bytes() != (runs[2] / "results/split.csv").read_bytes()
    assert not (out / "results").exists() and "not complete" in r.stdout


def test_only_matching_nothing_is_an_error(tmp_path):
    data = synthetic_dataset(tmp_path / "data", n_per_class=6)
    r = reproduce(data, tmp_path / "out", "--only", "nope")
    assert r.returncode != 0 and "matches no study notebook" in r.stderr and "01_data_report.ipynb" in r.stderr


def test_out_that_is_a_file_fails_before_the_scan(tmp_path):
    data = synthetic_dataset(tmp_path / "data", n_per_class=6)
    (tmp_path / "out").write_text("not a folder")
    r = reproduce(data, tmp_path / "out")
    assert r.returncode != 0 and "is a file, not a folder" in r.stderr and "scan" not in r.stdout + r.stderr


def test_set_overrides_any_field_and_rejects_typos(tmp_path):
    data = synthetic_dataset(tmp_path / "data", n_per_class=6)
    r = reproduce(data, tmp_path / "out", "--set", "epoch=3")
    assert r.returncode != 0 and "StudyConfig field" in r.stderr
    r = reproduce(data, tmp_path / "out", "--set", "split_mode=paper", "--only", "01")
    assert r.returncode == 0, r.stderr
    (run,) = (tmp_path / "out/runs").iterdir()
    assert json.loads((run / "manifest.json").read_text())["config"]["split_mode"] == "paper"


def test_fresh_machine_without_network_says_where_to_get_the_data(tmp_path):
    "`make reproduce` with the default data folder missing tries kagglehub; offline it fails clearly."
    from conftest import ROOT
    if (ROOT / "data/raw").exists(): pytest.skip("data/raw exists here")
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}  # no network, for sure
    r = subprocess.run([str(BIN / "osteo-reproduce"), "--profile", "smoke", "--out", str(tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "downloading the paper's data set" in r.stdout
    assert "could not download mrmann007/osteoporosis" in r.stderr and "kaggle.com/datasets/mrmann007/osteoporosis" in r.stderr
