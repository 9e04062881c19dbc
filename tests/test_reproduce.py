"`osteo-reproduce`: runs the study notebooks, writes figures, tables and a manifest, resumes, fails clearly."
import json, shutil
import pandas as pd

from conftest import cli
from osteo_nb.data import synthetic_dataset


def reproduce(data, out, *args):
    return cli("osteo-reproduce", "--data", data, "--profile", "smoke", "--out", out, *args)


def test_smoke_run_writes_figures_tables_manifest_and_resumes(tmp_path):
    data = synthetic_dataset(tmp_path / "data", n_per_class=16, n_copies=3, n_osteopenia=2)
    r = reproduce(data, tmp_path / "out")
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    for f in ("data_report", "fig2_samples", "training_original_efficientnet", "confusion_original_mobilenet"):
        assert (out / f"figures/{f}.png").stat().st_size > 0 and (out / f"figures/{f}.pdf").stat().st_size > 0
    counts = pd.read_csv(out / "results/data_counts.csv").set_index("label")
    assert counts.at["total", "duplicate"] == 2 * 3  # the copies synthetic_dataset made (osteopenia ones are excluded)
    m = json.loads((out / "results/manifest.json").read_text())
    assert m["config"]["profile"] == "smoke" and len(m["data_fingerprint"]) == 64
    assert m["split"]["sha256"] and m["environment"]["packages"]["tensorflow"]
    assert m["notebooks"]["01_data_report.ipynb"]["seconds"] > 0 and m["notebooks"]["02_train_original.ipynb"]["seconds"] > 0
    t2 = pd.read_csv(out / "results/table2.csv")
    assert t2[["dataset", "model"]].values.tolist() == [["original", "efficientnet"], ["original", "mobilenet"]]
    assert set(t2.backbone) == {b["arch"] for b in m["backbones"]}  # the table names the backbones actually used
    assert t2.weights.str.contains("sha256:").all() and (t2.accuracy_lo <= t2.accuracy).all()
    assert pd.read_csv(out / "results/models_original.csv").train_seconds.gt(0).all()
    preds = pd.read_csv(out / "results/predictions_original_efficientnet.csv")
    assert len(preds) == t2.n_test[0] and set(preds.y_pred) <= {0, 1}
    run_dir = out / "runs" / m["run_id"]
    assert (run_dir / "01_data_report.ipynb").exists()
    executed = json.loads((run_dir / "01_data_report.ipynb").read_text())
    assert executed["metadata"]["papermill"]["parameters"]["profile"] == "smoke"
    again = reproduce(data, out)  # same inputs: resumes, nothing to do
    assert again.returncode == 0 and "skipped" in again.stdout


def test_a_failing_notebook_names_itself_and_the_cell(tmp_path):
    data = synthetic_dataset(tmp_path / "data", n_per_class=6)
    shutil.rmtree(data / "Osteoporosis"); (data / "Osteoporosis").mkdir(); (data / "Normal" / "x").mkdir()
    r = reproduce(data, tmp_path / "out")
    assert r.returncode != 0
    assert "01_data_report.ipynb failed in cell" in r.stderr and "DataError" in r.stderr


def test_missing_data_is_a_clear_error(tmp_path):
    r = reproduce(tmp_path / "none", tmp_path / "out")
    assert r.returncode != 0 and "data folder not found" in r.stderr and "data/raw" in r.stderr
