"""The README is one screen whose every number comes from the results.

README.md is rendered from `nbs/index.ipynb` by `osteo-readme`, which fills each `{{source.key}}` placeholder
from `results/` (and `benchmarks/timings.csv`, `benchmarks/paper_clean_manifest.json`, the library's transcription
of the paper). These tests fail when the README is out of sync, when a number in it was typed by hand, when it holds
a commit hash or a date, when it outgrows one screen, and when its two tables no longer show the published CSVs
(checked here with plain pandas, not with the code that wrote them).
"""
import re

import nbformat
import pandas as pd
import pytest

from conftest import ROOT, cli
from osteo_nb.docs import MARK, hand_typed, render_readme

README = ROOT / "README.md"
RESULTS = ROOT / "results"


def test_readme_is_rendered_from_the_index_and_the_results():
    r = cli("osteo-readme", "--check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_number_in_the_readme_is_filled_from_a_file():
    marked = render_readme(mark=MARK)
    assert marked.replace(MARK, "") == README.read_text(), "README.md is not the rendered index: run osteo-readme"
    assert hand_typed(marked) == [], "numbers typed by hand in nbs/index.ipynb: use a {{source.key}} placeholder"


def _index_with(tmp_path, text):
    "A copy of the index notebook with one more markdown cell."
    nb = nbformat.read(ROOT / "nbs/index.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(text))
    nbformat.write(nb, tmp_path / "index.ipynb")
    return tmp_path / "index.ipynb"


def test_a_hand_typed_number_fails(tmp_path):
    "The check can fail: a number typed in prose is found; the same number in code, a link target or a placeholder is not."
    nb = _index_with(tmp_path, "The masks cost 4.9 points on 306 images.")
    assert hand_typed(render_readme(nb, mark=MARK)) == ["4.9", "306"]
    nb = _index_with(tmp_path, "Run `make test` on `nbs/04_data.ipynb`; see [the figure](figures/fig5_lime_efficientnet.png) of {{t2.n_test}} images.")
    assert hand_typed(render_readme(nb, mark=MARK)) == []


def test_unknown_placeholders_and_missing_files_are_errors_naming_them(tmp_path):
    with pytest.raises(KeyError, match=r"\{\{t2.acc_new\}\}"):
        render_readme(_index_with(tmp_path, "{{t2.acc_new}}"))
    with pytest.raises(ValueError, match="unknown placeholder source 'nope'"):
        render_readme(_index_with(tmp_path, "{{nope.x}}"))
    (tmp_path / "results").mkdir()
    nb = tmp_path / "only.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("{{t2.n_test}} test images")]), nb)
    with pytest.raises(FileNotFoundError, match="placeholder source 't2' reads results/table2.csv, which is missing"):
        render_readme(nb, root=tmp_path)


def test_readme_has_no_commit_hash_and_no_date():
    text = README.read_text()
    assert not re.findall(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b", text), "commit hashes belong in CHANGELOG.md"
    months = "January|February|March|April|May|June|July|August|September|October|November|December"
    assert not re.findall(rf"\b(19|20)\d\d-\d\d-\d\d\b|\b({months}) (19|20)\d\d\b", text), "dates belong in CHANGELOG.md"
    assert not re.findall(r"\b(ten|eleven|twelve) (study )?notebooks\b", text), "say 'every study notebook'"


def test_readme_is_one_screen():
    assert len(README.read_bytes()) <= 12_000, f"README.md is {len(README.read_bytes())} bytes; move detail to nbs/methods.ipynb"


def readme_table(heading, after=None):
    "The body rows of the first Markdown table after `heading` (and after the text `after`), each a list of its cells."
    text = README.read_text()
    assert heading in text, f"the README has no {heading!r}"
    text = text[text.index(heading):]
    if after: text = text[text.index(after):]
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("|"))
    rows = []
    for l in lines[start + 2:]:  # after the header and its separator
        if not l.startswith("|"): break
        rows.append([c.strip() for c in l.strip("|").split("|")])
    return rows


def numbers(cell):
    "Every number printed in a README cell, in order."
    return [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+", cell)]


def printed(cell, *values):
    "A README cell shows `values`, each rounded as printed (to 3 decimals: a tie may round either way)."
    got = numbers(cell)
    return len(got) == len(values) and all(abs(g - float(v)) <= 5e-4 + 1e-9 for g, v in zip(got, values))


def test_readme_table2_is_the_published_table():
    "The README's Table 2 shows `results/table2.csv`'s numbers, ours and the paper's."
    t2 = pd.read_csv(RESULTS / "table2.csv")
    rows = readme_table("## The result at a glance")
    assert len(rows) == len(t2)
    for cells, r in zip(rows, t2.itertuples()):
        assert cells[0] == r.dataset and f"`{r.backbone}`" in cells[1]
        for cell, values in zip(cells[2:5], [(r.accuracy, r.accuracy_lo, r.accuracy_hi), (r.f1, r.f1_lo, r.f1_hi), (r.auc, r.auc_lo, r.auc_hi)]):
            assert printed(cell, *values), (r.dataset, r.model, cell, values)
        assert printed(cells[5], r.paper_accuracy, r.paper_f1), (r.dataset, r.model, cells[5])


def test_readme_cross_validation_is_the_published_one():
    "The README's cross-validation: out-of-fold accuracies and McNemar counts and p from `results/validity_cv.csv`, the t-test from its folds."
    from scipy.stats import ttest_rel
    cv = pd.read_csv(RESULTS / "validity_cv.csv", keep_default_na=False)
    pool = cv[cv.condition.str.startswith("pool, ")]
    rows = readme_table("## The result at a glance", after="**Cross-validation**")
    assert len(rows) == pool.model.nunique()
    for cells, model in zip(rows, sorted(set(pool.model))):
        mine = pool[pool.model == model]
        assert f"`{model.split('(')[1].rstrip(')')}`" in cells[0]
        oof = lambda ending: mine[mine.condition.str.endswith(f"out-of-fold (every image tested once): {ending}")]
        o = oof("original images").query("metric == 'accuracy'").iloc[0]
        l = oof("LIME masks").query("metric == 'accuracy'").iloc[0]
        m = oof("LIME masks vs original images").query("metric == 'mcnemar_p'").iloc[0]
        assert printed(cells[1], o.value, o.lo, o.hi) and printed(cells[2], l.value, l.lo, l.hi), model
        a, b = (int(s.rsplit(": ", 1)[1]) for s in m.shows.split(", "))
        assert printed(cells[3], a, b) and printed(cells[4], m.value), model
        folds = mine[(mine.metric == "accuracy") & mine.condition.str.contains(", fold ")]
        acc = lambda cond: folds[folds.condition.str.endswith(f": {cond}")].sort_values("condition").value.astype(float).to_numpy()
        assert printed(cells[5], ttest_rel(acc("LIME masks"), acc("original images")).pvalue), model
