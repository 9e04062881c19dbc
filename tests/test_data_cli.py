"`osteo-data split`: columns, statuses, reasons, clusters, determinism and clear errors."
import shutil
import pandas as pd
import pytest
from PIL import Image

from conftest import cli
from osteo_nb.data import read_records


def split(data, out, *args):
    r = cli("osteo-data", "split", "--data", data, "--out", out, "--quiet", *args)
    assert r.returncode == 0, r.stderr
    return pd.read_csv(out, keep_default_na=False), read_records(out), r.stdout


def test_split_file_columns_and_summary(messy, tmp_path):
    df, recs, out = split(messy, tmp_path / "s.csv")
    assert list(df.columns) == ["path", "label", "split", "cluster", "status"]
    assert len(df) == sum(1 for p in messy.rglob("*") if p.is_file())  # one row per input file
    assert set(df.status) <= {"used", "duplicate", "conflict", "excluded", "unreadable"}
    assert "files:" in out and "used images per class and split" in out


@pytest.mark.parametrize("name,reason", [("zero.png", "empty file"), ("text.png", "not an image"),
                                         ("corrupt.jpg", "truncated"), ("huge.png", "too large (9000x8000 px")])
def test_bad_files_are_reported_with_reasons(messy, tmp_path, name, reason):
    _, recs, _ = split(messy, tmp_path / "s.csv")
    r = recs.set_index("path").loc[f"Normal/{name}"]
    assert r.status == "unreadable" and reason in r.reason


@pytest.mark.parametrize("name", ["Osteoporosis/sixteen.png", "Osteoporosis/rgba.png", "Osteoporosis/cmyk.jpg",
                                  "Normal/palette.png", "Normal/large.jpg"])
def test_odd_modes_and_sizes_decode(messy, tmp_path, name):
    _, recs, _ = split(messy, tmp_path / "s.csv")
    assert recs.set_index("path").at[name, "readable"] == True


def test_modes_of_one_image_are_one_radiograph(messy, tmp_path):
    "16-bit, RGBA and CMYK versions of one image are found as copies of it."
    _, recs, _ = split(messy, tmp_path / "s.csv")
    r = recs.set_index("path")
    group = ["Osteoporosis/Osteoporosis 2.jpg", "Osteoporosis/sixteen.png", "Osteoporosis/rgba.png", "Osteoporosis/cmyk.jpg"]
    assert r.loc[group, "cluster"].nunique() == 1


@pytest.mark.parametrize("seed", range(5))
def test_reencoded_copies_share_a_cluster_and_a_split(messy, tmp_path, seed):
    df, _, _ = split(messy, tmp_path / "s.csv", "--seed", seed)
    d = df.set_index("path")
    copies = ["Normal/Normal 0.png", "Normal/copy_rgb.jpg", "Normal/copy_rgb.png"]
    assert d.loc[copies, "cluster"].nunique() == 1
    assert d.loc[copies, "split"].nunique() == 1 and d.at[copies[0], "split"] in ("train", "val", "test")
    assert sorted(d.loc[copies, "status"]) == ["duplicate", "duplicate", "used"]
    assert df[df.split != ""].groupby("cluster").split.nunique().max() == 1  # no cluster in two splits


def test_same_data_and_seed_give_byte_identical_split(messy, tmp_path):
    split(messy, tmp_path / "a.csv", "--seed", 3); split(messy, tmp_path / "b.csv", "--seed", 3)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    split(messy, tmp_path / "c.csv", "--seed", 4)
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_paper_mode_lets_copies_cross_splits(messy, tmp_path):
    df, _, _ = split(messy, tmp_path / "p.csv", "--mode", "paper")
    assert set(df.status[df.label.isin(["normal", "osteoporosis"]) & (df.split != "")]) == {"used"}
    assert (df.status == "duplicate").sum() == 0


def test_conflicting_labels_are_excluded_and_listed(messy, tmp_path):
    Image.open(messy / "Normal/Normal 1.jpg").save(messy / "Osteoporosis/stray.png")
    df, recs, out = split(messy, tmp_path / "s.csv")
    c = recs[recs.status == "conflict"]
    assert sorted(c.path) == ["Normal/Normal 1.jpg", "Osteoporosis/stray.png"]
    assert (c.split == "").all() and c.reason.str.contains("label conflict").all()
    assert "conflicting clusters 1" in out


def test_kaggle_layout_loads_without_options(messy, tmp_path):
    k = tmp_path / "raw/osteoporosis"; k.mkdir(parents=True)
    shutil.copytree(messy / "Normal", k / "normal"); shutil.copytree(messy / "Osteoporosis", k / "osteoporosis")
    df, _, _ = split(tmp_path / "raw", tmp_path / "s.csv")
    assert set(df.label) == {"normal", "osteoporosis"}


def error_of(data, tmp_path):
    r = cli("osteo-data", "split", "--data", data, "--out", tmp_path / "s.csv", "--quiet")
    assert r.returncode != 0
    return r.stderr


def test_empty_class_folder_is_a_clear_error(messy, tmp_path):
    shutil.rmtree(messy / "Osteoporosis"); (messy / "Osteoporosis").mkdir()
    err = error_of(messy, tmp_path)
    assert "no usable images of class 'osteoporosis'" in err and str(messy) in err


def test_one_class_only_is_a_clear_error(messy, tmp_path):
    shutil.rmtree(messy / "Normal")
    assert "no usable images of class 'normal'" in error_of(messy, tmp_path)


def test_unknown_layout_is_a_clear_error(tmp_path):
    (tmp_path / "x/cats").mkdir(parents=True); (tmp_path / "x/dogs").mkdir()
    err = error_of(tmp_path / "x", tmp_path)
    assert "unknown layout" in err and str(tmp_path / "x") in err


def test_missing_data_says_where_to_get_it(tmp_path):
    err = error_of(tmp_path / "nope", tmp_path)
    assert "data folder not found" in err and "kaggle.com/datasets/mrmann007/osteoporosis" in err and "data/raw" in err


def test_shared_pool_grouped_split(pool, tmp_path):
    "Done-criterion of the foundation: no cluster across splits, conflicts found and listed."
    df, recs, out = split(pool, tmp_path / "s.csv")
    assert len(df) == sum(1 for p in pool.rglob("*") if p.is_file() and p.parent != pool)
    assert df[df.split != ""].groupby("cluster").split.nunique().max() == 1
    assert (df.status == "conflict").sum() > 0 and "conflicting clusters" in out
    assert recs[recs.status == "conflict"].reason.str.contains("label conflict").all()
    used = df[df.status == "used"]
    shares = used.split.value_counts(normalize=True)
    assert abs(shares["train"] - 0.7) < 0.03 and abs(shares["val"] - 0.2) < 0.03 and abs(shares["test"] - 0.1) < 0.03


def test_mirrored_copy_under_another_class_is_a_conflict(messy, tmp_path):
    from PIL import ImageOps
    ImageOps.mirror(Image.open(messy / "Normal/Normal 4.jpg")).save(messy / "Osteoporosis/mirrored.png")
    _, recs, _ = split(messy, tmp_path / "s.csv")
    r = recs.set_index("path")
    assert r.loc[["Normal/Normal 4.jpg", "Osteoporosis/mirrored.png"], "status"].tolist() == ["conflict", "conflict"]
    _, recs, _ = split(messy, tmp_path / "t.csv", "--no_mirror")
    assert recs.set_index("path").at["Osteoporosis/mirrored.png", "status"] == "used"
