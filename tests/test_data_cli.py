"`osteo-data split` and `trace` on synthetic data: columns, statuses, reasons, clusters, determinism and clear errors (the shared pool: `test_pool_split.py`)."
import shutil
import pandas as pd
import pytest
from PIL import Image

from conftest import cli, make_messy
import cv2
import numpy as np
from osteo_nb.config import StudyConfig
from osteo_nb.data import leakage, read_records, split as split_records
from osteo_nb.synthetic import synthetic_dataset
from osteo_nb.synthetic import one_knee_crop, synthetic_bilateral, synthetic_copies, synthetic_knee


def split(data, out, *args):
    r = cli("osteo-data", "split", "--data", data, "--out", out, "--quiet", *args)
    assert r.returncode == 0, r.stderr
    return pd.read_csv(out, keep_default_na=False), read_records(out), r.stdout


@pytest.fixture(scope="module")
def messy_split(tmp_path_factory):
    "`messy` and its split with the defaults (written to `s.csv` beside the data folder), computed once for the tests that only read them: (data folder, split table, records, stdout)."
    tmp = tmp_path_factory.mktemp("messy_split")
    data = make_messy(tmp)
    return (data, *split(data, tmp / "s.csv"))


def test_split_file_columns_and_summary(messy_split):
    messy, df, recs, out = messy_split
    assert list(df.columns) == ["path", "label", "split", "cluster", "status"]
    assert len(df) == sum(1 for p in messy.rglob("*") if p.is_file())  # one row per input file
    assert set(df.status) <= {"used", "duplicate", "conflict", "excluded", "unreadable"}
    assert "files:" in out and "used images per class and split" in out


@pytest.mark.parametrize("name,reason", [("zero.png", "empty file"), ("text.png", "not an image"),
                                         ("corrupt.jpg", "truncated"), ("huge.png", "too large (9000x8000 px")])
def test_bad_files_are_reported_with_reasons(messy_split, name, reason):
    recs = messy_split[2]
    r = recs.set_index("path").loc[f"Normal/{name}"]
    assert r.status == "unreadable" and reason in r.reason


@pytest.mark.parametrize("name", ["Osteoporosis/sixteen.png", "Osteoporosis/rgba.png", "Osteoporosis/cmyk.jpg",
                                  "Normal/palette.png", "Normal/large.jpg"])
def test_odd_modes_and_sizes_decode(messy_split, name):
    recs = messy_split[2]
    assert recs.set_index("path").at[name, "readable"] == True


def test_modes_of_one_image_are_one_radiograph(messy_split):
    "16-bit, RGBA and CMYK versions of one image are found as copies of it."
    recs = messy_split[2]
    r = recs.set_index("path")
    group = ["Osteoporosis/Osteoporosis 2.jpg", "Osteoporosis/sixteen.png", "Osteoporosis/rgba.png", "Osteoporosis/cmyk.jpg"]
    assert r.loc[group, "cluster"].nunique() == 1


@pytest.mark.parametrize("seed", range(5))
def test_reencoded_copies_share_a_cluster_and_a_split(messy_split, seed):
    "Clusters do not depend on the seed, so the fixture's clustering serves every seed's split (the CLI's --seed: below)."
    df = split_records(messy_split[2], StudyConfig(seed=seed))
    d = df.set_index("path")
    copies = ["Normal/Normal 0.png", "Normal/copy_rgb.jpg", "Normal/copy_rgb.png"]
    assert d.loc[copies, "cluster"].nunique() == 1
    assert d.loc[copies, "split"].nunique() == 1 and d.at[copies[0], "split"] in ("train", "val", "test")
    assert sorted(d.loc[copies, "status"]) == ["duplicate", "duplicate", "used"]
    assert df[df.split != ""].groupby("cluster").split.nunique().max() == 1  # no cluster in two splits


def test_same_data_and_seed_give_byte_identical_split(messy_split, tmp_path):
    "The fixture's split (the default seed) made again from the same files: byte-identical; another seed: another split."
    data = messy_split[0]
    first = data.parent / "s.csv"  # the fixture's split file
    split(data, tmp_path / "a.csv", "--seed", StudyConfig.seed)
    assert (tmp_path / "a.csv").read_bytes() == first.read_bytes()
    split(data, tmp_path / "c.csv", "--seed", 4)
    assert (tmp_path / "c.csv").read_bytes() != first.read_bytes()


def test_paper_mode_lets_copies_cross_splits(tmp_path):
    data = synthetic_dataset(tmp_path / "d", n_per_class=12, n_copies=3)
    df, _, _ = split(data, tmp_path / "p.csv", "--mode", "paper")
    assert set(df.status[df.label.isin(["normal", "osteoporosis"]) & (df.split != "")]) == {"used"}
    assert (df.status == "duplicate").sum() == 0
    assert len(leakage(df)) > 0  # copies of one radiograph do land in different splits
    g, _, _ = split(data, tmp_path / "g.csv")
    assert len(leakage(g)) == 0


def test_conflicting_labels_are_excluded_and_listed(messy, tmp_path):
    Image.open(messy / "Normal/Normal 1.jpg").save(messy / "Osteoporosis/stray.png")
    df, recs, out = split(messy, tmp_path / "s.csv")
    c = recs[recs.status == "conflict"]
    assert sorted(c.path) == ["Normal/Normal 1.jpg", "Osteoporosis/stray.png"]
    assert (c.split == "").all() and c.reason.str.contains("label conflict").all()
    assert "conflicting exposures 1" in out


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


def test_mirrored_copy_under_another_class_is_a_conflict(messy, tmp_path):
    from PIL import ImageOps
    ImageOps.mirror(Image.open(messy / "Normal/Normal 4.jpg")).save(messy / "Osteoporosis/mirrored.png")
    _, recs, _ = split(messy, tmp_path / "s.csv")
    r = recs.set_index("path")
    assert r.loc[["Normal/Normal 4.jpg", "Osteoporosis/mirrored.png"], "status"].tolist() == ["conflict", "conflict"]
    _, recs, _ = split(messy, tmp_path / "t.csv", "--no_mirror")
    assert recs.set_index("path").at["Osteoporosis/mirrored.png", "status"] == "used"


def _geometric_dataset(d):
    "Normal/: a synthetic knee, its look-alike, a two-knee image and 5 others; Osteoporosis/: geometric copies, a crop and 6 others."
    (d / "Normal").mkdir(parents=True); (d / "Osteoporosis").mkdir()
    knee, bi = synthetic_knee(1), synthetic_bilateral(5)
    cv2.imwrite(str(d / "Normal/knee.png"), knee)
    cv2.imwrite(str(d / "Normal/lookalike.png"), synthetic_knee(texture_seed=2))
    cv2.imwrite(str(d / "Normal/bilateral.png"), bi)
    for name, c in synthetic_copies(knee).items(): cv2.imwrite(str(d / f"Osteoporosis/{name}.jpg"), c)
    cv2.imwrite(str(d / "Osteoporosis/crop.jpg"), one_knee_crop(bi, "left"))
    for i in range(6): cv2.imwrite(str(d / f"Osteoporosis/other{i}.png"), synthetic_knee(100 + i, outline_seed=i))
    for i in range(5): cv2.imwrite(str(d / f"Normal/other{i}.png"), synthetic_knee(200 + i, outline_seed=10 + i))  # with lookalike.png: 6 used
    return d  # per class, the fewest a 7:2:1 split can give train, val and test each an image of both classes (`data.check_split`)


def test_geometric_copies_are_one_radiograph_and_conflicts(tmp_path):
    "Shifted, rescaled, cropped, padded, mirrored, brightened and rotated copies: one cluster; a look-alike: another."
    _, recs, _ = split(_geometric_dataset(tmp_path / "g"), tmp_path / "s.csv", "--seed", "0")
    r = recs.set_index("path")
    copies = ["Normal/knee.png"] + [f"Osteoporosis/{n}.jpg" for n in synthetic_copies(synthetic_knee(1))]
    assert r.loc[copies, "cluster"].nunique() == 1 and set(r.loc[copies, "status"]) == {"conflict"}
    assert r.at["Normal/lookalike.png", "cluster"] != r.at["Normal/knee.png", "cluster"]
    assert r.at["Normal/lookalike.png", "status"] == "used"
    # one knee of a two-knee image, mirrored and stretched 2x: same exposure (group), not the same radiograph
    assert r.at["Osteoporosis/crop.jpg", "group"] == r.at["Normal/bilateral.png", "group"]
    assert r.at["Osteoporosis/crop.jpg", "cluster"] != r.at["Normal/bilateral.png", "cluster"]
    assert r.at["Osteoporosis/crop.jpg", "status"] == "conflict"


def test_geometric_stage_can_be_switched_off(tmp_path):
    _, recs, _ = split(_geometric_dataset(tmp_path / "g"), tmp_path / "s.csv", "--seed", "0", "--no_geometric")
    r = recs.set_index("path")
    assert r.at["Osteoporosis/shifted.jpg", "cluster"] != r.at["Normal/knee.png", "cluster"]  # a hash cannot see the shift


def _two_knees_filed_apart(tmp_path):
    "Synthetic data plus the left-knee crop of a source radiograph under Normal/ and its right-knee crop under Osteoporosis/."
    from osteo_nb.synthetic import synthetic_source
    data, source = synthetic_dataset(tmp_path / "d", n_per_class=6, n_copies=0), synthetic_source(tmp_path / "s")
    two = cv2.resize(np.asarray(Image.open(source / "osteopenia/OP2.png")), (224, 224), interpolation=cv2.INTER_AREA)
    Image.fromarray(one_knee_crop(two, "left")).save(data / "Normal/left.png")
    Image.fromarray(one_knee_crop(two, "right", mirror=False)).save(data / "Osteoporosis/right.png")
    return data, source


def test_trace_writes_one_row_per_file_and_the_side(tmp_path):
    data, source = _two_knees_filed_apart(tmp_path)
    r = cli("osteo-data", "trace", "--data", data, "--source", source, "--out", tmp_path / "t.csv", "--quiet",
            "--set", f"cache_dir={tmp_path / 'cache'}")  # the trace cache stays out of the project
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(tmp_path / "t.csv", keep_default_na=False).set_index("path")
    assert len(t) == len(list(data.rglob("*.*"))) and "14 files: 2 traced" in r.stdout
    assert len(list((tmp_path / "cache/trace").glob("*.csv"))) == 1
    assert t.loc[["Normal/left.png", "Osteoporosis/right.png"], "side"].tolist() == ["left", "right"]
    assert t.loc[["Normal/left.png", "Osteoporosis/right.png"], "transform"].tolist() == ["crop, mirrored", "crop"]
    assert set(t.loc[["Normal/left.png", "Osteoporosis/right.png"], "source_file"]) == {"osteopenia/OP2.png"}
    bad = cli("osteo-data", "trace", "--data", data, "--source", tmp_path / "nowhere", "--out", tmp_path / "u.csv", "--quiet")
    assert bad.returncode != 0 and "nowhere: source database not found or not a folder" in bad.stderr


def test_split_with_a_source_makes_the_two_knees_of_one_radiograph_one_exposure(tmp_path):
    data, source = _two_knees_filed_apart(tmp_path)
    plain = split(data, tmp_path / "a.csv")[1].set_index("path")
    assert plain.loc[["Normal/left.png", "Osteoporosis/right.png"], "status"].tolist() == ["used", "used"]  # not copies of each other
    joined = split(data, tmp_path / "b.csv", "--source", source, "--set", f"cache_dir={tmp_path / 'cache'}")[1].set_index("path")
    assert joined.loc[["Normal/left.png", "Osteoporosis/right.png"], "status"].tolist() == ["conflict", "conflict"]
    assert joined.at["Normal/left.png", "group"] == joined.at["Osteoporosis/right.png", "group"] != ""
