"The trace on the real data: files of one source radiograph that `dedup` cannot link (the two knees of one two-knee image)."
import pytest

from osteo_nb.config import StudyConfig, pool_dir, source_dir
from osteo_nb.images import open_image, read_canonical, to_luminance
from osteo_nb.trace import read_source, source_views, trace_image


@pytest.fixture(scope="module")
def traced():
    "Trace one pool file against every source radiograph (source keypoints computed once: about 20 s)."
    if pool_dir() is None or source_dir() is None: pytest.skip("the shared pool or the source database is absent (OSTEO_POOL, OSTEO_SOURCE; make test sets them)")
    src = read_source(source_dir())
    views = [source_views(to_luminance(open_image(source_dir() / f)), StudyConfig()) for f in src.file]
    return lambda path: trace_image(read_canonical(pool_dir() / path), src, views)


# pairs the seed-42 split of `dedup` alone put into two splits (found by `trace.source_leakage` on the full trace)
@pytest.mark.parametrize("a, b, source", [
    ("Normal/Normal 14.png", "Normal/Normal 125.jpg", "normal/N14.jpg"),  # right knee in test, left knee in training
    ("Osteoporosis/Osteoporosis 159.JPEG", "Normal/Normal 160.png", "osteopenia/OP19.JPEG"),  # one patient under two labels
    ("Normal/Normal 20.png", "Normal/Normal 168.jpg", "osteopenia/OP47.jpg")])
def test_pool_the_two_knees_of_one_radiograph_trace_to_it(traced, a, b, source):
    ta, tb = traced(a), traced(b)
    assert ta["source_file"] == tb["source_file"] == source
    assert {ta["side"], tb["side"]} == {"left", "right"} and ta["transform"].startswith("crop")


def test_pool_a_pair_filed_under_two_labels_traces_to_a_source_copy_under_two_diagnoses(traced):
    t = traced("Osteoporosis/Osteoporosis 147.JPEG")
    assert t["source_file"] == "normal/N1.JPEG;osteopenia/OP13.JPEG" and t["flag"] == "source copies under different diagnoses"
    assert traced("Normal/Normal 379.JPEG")["source_group"] == t["source_group"]
