"`osteo-reproduce` on the shared smoke run: every study notebook runs, writes figures, tables and a manifest, resumes; every prediction agrees with the threshold (the rest of the runner: test_runner.py)."
import json
import pandas as pd

from conftest import cli
from osteo_nb.config import PROFILES
from osteo_nb.provenance import sha256_file


def reproduce(data, out, *args):
    return cli("osteo-reproduce", "--data", data, "--profile", "smoke", "--out", out, *args)


def test_smoke_run_writes_figures_tables_manifest_and_resumes(smoke_run):
    data, source, out, r = smoke_run
    assert r.returncode == 0, r.stdout + r.stderr
    (run_dir,) = (out / "runs").iterdir()
    assert not (out / "results").exists() and not (out / "figures").exists()  # a run writes only its own folder
    assert f"figures:   {run_dir}/figures/" in r.stdout and f"{run_dir}/manifest.json" in r.stdout  # says where everything is
    for f in ("data_report", "fig2_samples", "training_original_efficientnet", "confusion_original_mobilenet",
              "fig5_lime_efficientnet", "fig6_lime_mobilenet", "fig7_gradcam", "lime_gallery_mobilenet", "lime_viewer",
              "fig8_feature_samples", "training_new_efficientnet", "confusion_new_mobilenet", "roc"):
        assert (run_dir / f"figures/{f}.png").stat().st_size > 0 and (run_dir / f"figures/{f}.pdf").stat().st_size > 0
    counts = pd.read_csv(run_dir / "results/data_counts.csv").set_index("label")
    assert counts.at["total", "duplicate"] == 2 * 3  # the copies synthetic_dataset made (osteopenia ones are excluded)
    m = json.loads((run_dir / "results/manifest.json").read_text())
    assert m["config"]["profile"] == "smoke" and len(m["data_fingerprint"]) == 64
    assert m["split"]["sha256"] and m["environment"]["packages"]["tensorflow"]
    study = ["01_data_report", "02_train_original", "03_explanations", "04_feature_dataset", "05_train_feature", "06_results", "07_label_audit", "08_source_labels", "09_validity", "10_validity_controls", "11_validity_cv", "12_protocol", "13_validity_summary"]
    assert all(m["notebooks"][f"{nb}.ipynb"]["seconds"] > 0 for nb in study)
    t2 = pd.read_csv(run_dir / "results/table2.csv")
    assert t2[["dataset", "model"]].values.tolist() == [[d, r] for d in ("original", "new") for r in ("efficientnet", "mobilenet")]
    assert set(t2.backbone) == {b["arch"] for b in m["backbones"]}  # the table names the backbones actually used
    assert t2.weights.str.contains("sha256:").all() and (t2.accuracy_lo <= t2.accuracy).all()
    assert pd.read_csv(run_dir / "results/models_original.csv").train_seconds.gt(0).all()
    preds = pd.read_csv(run_dir / "results/predictions_original_efficientnet.csv")
    assert len(preds) == t2.n_test[0] and set(preds.y_pred) <= {0, 1}
    ex = pd.read_csv(run_dir / "results/explanations.csv")  # every test image, both models, explained for the predicted class
    assert len(ex) == 2 * t2.n_test[0] and (ex.explained == ex.predicted).all() and ex.mask_area.between(0, 1).all()
    assert run_dir.name == m["run_id"]
    feat = pd.read_csv(run_dir / "results/feature_dataset.csv")  # every used image, each model: masked by its predicted label
    n_used = int(pd.read_csv(run_dir / "results/models_original.csv")[["n_train", "n_val", "n_test"]].iloc[0].sum())
    assert len(feat) == 2 * n_used and feat.mask_area.between(0, 1).all() and set(feat.split) == {"train", "val", "test"}
    original_models = {k.split("/")[0] for k in feat.explanation}  # the cache folders of the two original models' explanations
    assert len(original_models) == 2 and feat.explanation.nunique() == 2 * n_used  # one explanation per image and model
    assert all((out / ".cache/explanations" / f"{k}.npz").exists() for k in feat.explanation)  # in the cache (notebook 12 adds the re-splits' images)
    assert all((run_dir / f).exists() for f in feat.feature_path)
    assert {n for n in pd.read_csv(run_dir / "results/models_new.csv").dataset} == {"new"}
    pairs = pd.read_csv(run_dir / "results/mcnemar_original_vs_new.csv")
    assert len(pairs) == 2 and (pairs.n_test == t2.n_test[0]).all()
    assert all((run_dir / f"{nb}.html").stat().st_size > 0 for nb in study)  # readable without Jupyter
    assert (run_dir / "01_data_report.ipynb").exists()
    executed = json.loads((run_dir / "01_data_report.ipynb").read_text())
    assert executed["metadata"]["papermill"]["parameters"]["profile"] == "smoke"
    assert "OFFLINE BACKBONES" in r.stderr  # said on the console, not only inside the executed notebook
    for rel, digest in m["outputs"].items():  # the published files are the run's, exactly
        assert sha256_file(run_dir / rel) == digest, rel
    assert sha256_file(run_dir / "results/split.csv") == m["split"]["sha256"]
    assert all(s["status"] == "ok" for s in m["notebooks"].values())
    traced = pd.read_csv(run_dir / "results/trace.csv", keep_default_na=False).set_index("path")  # every file, traced or why not
    assert len(traced) == len(list(data.rglob("*.*")))
    assert traced.loc["Normal/from source.png", ["source_file", "side", "transform"]].tolist() == ["osteopenia/OP2.png", "left", "crop, mirrored"]
    assert (traced.drop("Normal/from source.png").flag == "no source").all()  # the synthetic radiographs come from no source
    audit = pd.read_csv(run_dir / "results/label_audit.csv")
    assert set(audit.split_mode) == {"grouped", "paper"} and audit.osteopenia.sum() >= 1  # the crop's label is contradicted
    src = pd.read_csv(run_dir / "results/source_records.csv")  # every source file, used or why not
    assert len(src) == 13 and (src.status == "used").sum() == 12 and src.reason[src.status != "used"].str.len().gt(0).all()
    scores = pd.read_csv(run_dir / "results/source_labels.csv").set_index(["task", "model", "metric"])
    assert scores.loc[("class", "efficientnet", "accuracy"), "n"] == 8 and scores.loc[("t_score", "mobilenet", "mae"), "n"] == 12
    folds = pd.read_csv(run_dir / "results/source_models.csv")
    assert len(folds) == 2 * 2 * 3 and folds.model_file.is_unique  # targets x backbones x folds, one model each
    assert (run_dir / "figures/source_tscore.png").stat().st_size > 0 and (run_dir / "figures/source_roc.png").stat().st_size > 0
    v = pd.read_csv(run_dir / "results/validity.csv")  # notebook 12: every part of notebooks 9-11, row for row
    parts = {f: pd.read_csv(run_dir / "results" / f) for f in ("validity_no_retraining.csv", "validity_retrained.csv", "validity_cv.csv", "validity_protocol.csv")}
    assert v.part.value_counts().to_dict() == {f: len(t) for f, t in parts.items()} and all(list(t.columns) + ["part", "family", "p_holm", "verdict"] == list(v.columns) for t in parts.values())
    assert {"shortcuts", "mask leakage", "threshold", "calibration"} <= set(parts["validity_no_retraining.csv"].experiment) and v.n.gt(0).all()
    assert v.experiment.iloc[0] == "reference" and v.experiment.iloc[-1] == "protocol"  # the issues' order
    roles = PROFILES["smoke"].validity.validity_models  # the models the validity study retrains (one in smoke)
    k = len(roles)
    conf = v[v.family == "confirmatory"]  # the declared family: the CV's out-of-fold test and the factorial's four primary cells, per model
    assert len(conf) == k + 4 * k and (conf.metric == "mcnemar_p").all() and (conf.p_holm >= conf.value - 1e-12).all()
    factorial = pd.read_csv(run_dir / "results/protocol_factorial.csv")  # notebook 12: every cell of the factorial, both models
    assert len(factorial) == 2 * 2 * k and set(factorial.partition) == {"same partition", "re-split"}
    assert set(factorial.split) == {"exposure-grouped", "naive file split"} and factorial.mcnemar_p.between(0, 1).all()
    resplit = factorial[factorial.partition == "re-split"]
    assert (resplit.n_in_training + resplit.n_not_in_training == resplit.n).all()  # every re-split test image is counted once, in or out
    assert len(pd.read_csv(run_dir / "results/protocol_decomposition.csv")) == k * 4 and (run_dir / "figures/protocol_factorial.png").stat().st_size > 0
    assert (run_dir / "figures/validity_differences.png").stat().st_size > 0
    assert (v[v.metric == "auc"].lo <= v[v.metric == "auc"].value).all()
    assert len(pd.read_csv(run_dir / "results/validation_predictions_mobilenet.csv")) == int(pd.read_csv(run_dir / "results/models_original.csv").n_val[0])
    vr = pd.read_csv(run_dir / "results/validity_retrained.csv")  # the retrained controls (smoke has `controls` on)
    assert {"reference", "mask leakage", "mask controls", "shortcuts", "faithfulness", "duplicate leakage", "labels"} <= set(vr.experiment)
    assert vr.n.gt(0).all() and (vr[vr.experiment == "reference"].metric == "accuracy_difference").sum() == k  # Table 2's pair, per model
    conds = set(vr.condition[vr.metric == "accuracy"])
    assert {"true-label masks, retrained", "random masks, same area, retrained", "inverted masks, retrained",
            "Grad-CAM masks, same area, retrained", "cropped borders, retrained", "naive split (the paper's), all test files"} <= conds
    same_test = vr[(vr.metric == "accuracy") & (vr.experiment != "duplicate leakage")]
    assert (same_test.n == t2.n_test[0]).all()  # every condition but the naive split is scored on Table 2's test images
    vm = pd.read_csv(run_dir / "results/validity_models.csv")
    assert len(vm) == k * 8 and vm.model_file.is_unique and vm.train_seconds.gt(0).all()  # 4 mask controls, cropped, naive, 2 label conditions; per model
    assert set(vm.model.str.split("/").str[-1]) == set(roles)  # `validity_models` decides what is retrained
    assert (run_dir / "figures/validity_what_holds_up.png").stat().st_size > 0 and len(pd.read_csv(run_dir / "results/validity_seconds.csv")) > 0
    vp = pd.read_csv(run_dir / "results/validity_predictions.csv")  # image by image, every condition scored in the table
    scored = set(vr.condition[(vr.metric == "accuracy") & (vr.experiment != "reference")])
    assert set(vp.condition) == scored - {"naive split, test files with a copy in training", "naive split, test files without a copy in training"}
    cv = pd.read_csv(run_dir / "results/validity_cv.csv")  # notebook 11: the cross-validation, on the pool and on the source labels
    assert set(cv.experiment) == {"uncertainty", "labels"} and cv.n.gt(0).all()
    assert cv.condition.str.contains(f"3-fold CV x 1 seed, LIME {PROFILES['smoke'].lime.lime_samples} samples (reduced", regex=False).all()  # every row names its design
    cvp = pd.read_csv(run_dir / "results/validity_cv_predictions.csv")
    assert set(cvp.study) == {"pool", "source labels"} and set(cvp.condition) == {"original images", "LIME masks"}
    for study, experiment, n in (("pool", "uncertainty", None), ("source labels", "labels", 8)):  # 8: the source's normal and osteoporosis radiographs
        p = cvp[(cvp.study == study) & (cvp.model == "mobilenet") & (cvp.condition == "LIME masks")]
        assert set(p.fold) == {0, 1, 2} and p.path.is_unique and (n is None or len(p) == n)  # every image tested once
        pooled = cv[(cv.experiment == experiment) & cv.condition.str.contains("out-of-fold") & cv.condition.str.endswith(": LIME masks")
                    & (cv.metric == "accuracy") & cv.model.str.startswith("mobilenet")]
        assert pooled.n.tolist() == [len(p)] and abs(pooled.value.iloc[0] - ((p.p_osteoporosis >= 0.5).astype(int) == p.y_true).mean()) < 1e-9
    assert {"accuracy_mean", "accuracy_sd", "accuracy_difference_mean", "mcnemar_p"} <= set(cv.metric)
    cvm = pd.read_csv(run_dir / "results/validity_cv_models.csv")
    assert len(cvm) == 2 * 3 * 2 * k and cvm.model_file.is_unique  # studies x folds x conditions x models (one seed)
    assert set(folds.model_file[(folds.target == "class") & folds.model.isin(roles)]) <= set(cvm.model_file)  # notebook 8's classifiers, reused from the cache
    assert (run_dir / "figures/validity_cv.png").stat().st_size > 0 and (run_dir / "figures/validity_cv_source.png").stat().st_size > 0
    again = reproduce(data, out, "--set", f"source_data={source}", "--publish")  # same inputs: resumes, nothing to do
    assert again.returncode != 0 and "smoke profile is never published" in again.stderr and not (out / "results").exists()
    again = reproduce(data, out, "--set", f"source_data={source}")
    assert again.returncode == 0 and "skipped" in again.stdout


def test_every_prediction_of_a_run_agrees_with_the_threshold(smoke_run):
    "Every predictions file a run writes has y_pred = p_osteoporosis >= 0.5 (notebook 10's true-label rows once kept notebook 5's)."
    from conftest import threshold_disagreements
    data, source, out, r = smoke_run
    (run_dir,) = (out / "runs").iterdir()
    found = threshold_disagreements(run_dir / "results")
    assert "validity_predictions.csv" in found and len(found) >= 5, found
    assert all(v == (0, 0) for v in found.values()), found


def test_protocol_factorial_of_a_run_recomputes_from_its_predictions(smoke_run):
    "Notebook 12's factorial, its paired rows and its decomposition, recomputed from the image-by-image predictions (conftest)."
    from conftest import protocol_mismatches
    data, source, out, r = smoke_run
    (run_dir,) = (out / "runs").iterdir()
    assert protocol_mismatches(run_dir / "results") == []


def test_warm_fills_the_entries_notebook_12_reads(smoke_run):
    "`--warm` on a complete run computes nothing: the mask models and explanations it would make are the ones notebook 12 made."
    data, source, out, r = smoke_run
    cache = out / ".cache"
    count = lambda kind: sum(p.is_file() for p in (cache / kind).rglob("*"))
    before = count("models"), count("explanations")
    w = reproduce(data, out, "--set", f"source_data={source}", "--warm")
    assert w.returncode == 0, w.stdout + w.stderr
    assert "LIME explanations of the naive split's files" in w.stdout
    assert (count("models"), count("explanations")) == before
