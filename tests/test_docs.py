"""The docs site and what readers of a notebook study expect: the site's notebooks process, nothing installs itself.

nbdev builds the site in two steps: its own processing of every notebook (which executes the imports, exports and
`show_doc` cells of the library notebooks), then Quarto. The first step is checked here without Quarto and without
installing anything (`osteo_nb.docs.check_site`, `osteo-docs --check`, `make docs`); the second runs on GitHub
(`.github/workflows/deploy.yaml`). Also: the settings that put the study notebooks on the site but keep them out of
`nbdev_test`, the Binder configuration against `make setup`, and CITATION.cff.
"""
import configparser, os, re, subprocess, time
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT

SETTINGS = configparser.ConfigParser(interpolation=None)
SETTINGS.read(ROOT / "settings.ini")
CFG = SETTINGS["DEFAULT"]


def _site_notebooks():
    "The notebooks nbdev's docs processing takes, relative to nbs/ (what `check_site` reports on)."
    skip = re.compile(r"^[_.]")
    return sorted(p.relative_to(ROOT / "nbs").as_posix() for p in (ROOT / "nbs").rglob("*.ipynb")
                  if not any(skip.match(part) for part in p.relative_to(ROOT / "nbs").parts))


@pytest.fixture(scope="module")
def site(request):
    "nbdev's processing of every notebook, once, with every way nbdev could install something made to fail."
    import nbdev.quarto
    from osteo_nb.docs import check_site
    mp = pytest.MonkeyPatch()
    def refuse(*a, **k): raise AssertionError(f"the docs check tried to install something: {a}")
    for name in ("install", "install_quarto", "_ensure_quarto", "_install_linux", "system", "_sprun"):
        mp.setattr(nbdev.quarto, name, refuse)
    start = time.perf_counter()
    try: res = check_site()
    finally: mp.undo()
    print(f"check_site: {len(res)} notebooks in {time.perf_counter() - start:.0f} s")
    return res


def test_the_site_takes_every_notebook(site):
    "Library notebooks, the index, the methods, the study notebooks and the published run's executed copies."
    assert sorted(site) == _site_notebooks()
    assert {"index.ipynb", "methods.ipynb", "90_docs.ipynb"} <= set(site)
    assert sum(nb.startswith("study/") for nb in site) >= 12


@pytest.mark.parametrize("nb", _site_notebooks())
def test_nbdev_processes_the_notebook(site, nb):
    assert site[nb] is None, f"nbdev's docs processing fails on nbs/{nb}:\n{site[nb]}"


def test_study_notebooks_are_on_the_site_but_not_in_nbdev_test():
    from nbdev.test import _keep_file
    assert CFG.getboolean("recursive")
    for folder in ("study", "published"):
        assert (ROOT / "nbs" / folder / ".notest").exists(), f"nbs/{folder}/.notest keeps nbdev_test out"
    study = sorted((ROOT / "nbs/study").glob("*.ipynb"))
    assert study and not any(_keep_file(p, ".notest") for p in study)
    assert _keep_file(ROOT / "nbs/04_data.ipynb", ".notest")


def test_cleaning_keeps_the_parameters_tag_and_papermills_metadata():
    "nbdev_clean (every notebook under nbs/, the published run's too) keeps what papermill and the executed copies need."
    from nbdev.clean import clean_nb
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("seed = 42", metadata={"tags": ["parameters"], "papermill": {"duration": 1.0}, "execution": {"iopub.status.busy": "t"}})],
                                  metadata={"papermill": {"parameters": {"seed": 42}}, "language_info": {"name": "python"}})
    clean_nb(nb, allowed_metadata_keys=CFG["allowed_metadata_keys"].split(), allowed_cell_metadata_keys=CFG["allowed_cell_metadata_keys"].split())
    assert nb.cells[0].metadata == {"tags": ["parameters"], "papermill": {"duration": 1.0}}
    assert nb.metadata == {"papermill": {"parameters": {"seed": 42}}}


def _stub(path: Path, log: Path, rc: int = 0):
    "An executable that records how it was called (its name, arguments and the first entry of PATH)."
    path.write_text(f'#!/bin/sh\necho "$(basename "$0") $* | ${{PATH%%:*}}" >> {log}\nexit {rc}\n')
    path.chmod(0o755)


@pytest.mark.parametrize("quarto", [False, True])
def test_make_docs_installs_nothing(tmp_path, quarto):
    "Without Quarto `make docs` checks and says how to get Quarto; with it, it builds with .venv's nbdev_docs; pip is never called."
    log, venv, fakebin = tmp_path / "calls.log", tmp_path / "venv", tmp_path / "bin"
    (venv / "bin").mkdir(parents=True); fakebin.mkdir(); (tmp_path / "nbs").mkdir()
    for name in ("osteo-docs", "osteo-readme", "nbdev_docs", "python", "pip"): _stub(venv / "bin" / name, log)
    for name in ("pip", "pip3", "python", "python3", "curl", "sudo") + (("quarto",) if quarto else ()): _stub(fakebin / name, log)
    env = dict(os.environ, PATH=f"{fakebin}:/usr/bin:/bin")
    r = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "docs", f"VENV={venv}"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    calls = log.read_text().splitlines()
    assert [c.split(" |")[0].strip() for c in calls] == (["osteo-docs --check", "osteo-readme", "nbdev_docs"] if quarto else ["osteo-docs --check"])
    if quarto: assert calls[-1].endswith(f"| {venv}/bin"), "nbdev_docs runs with .venv first on PATH"
    else: assert "Quarto is not installed" in r.stdout and "quarto.org" in r.stdout


def test_the_deploy_workflow_builds_with_make_docs_after_setup_and_quarto():
    steps = yaml.safe_load((ROOT / ".github/workflows/deploy.yaml").read_text())["jobs"]["deploy"]["steps"]
    runs = [s.get("run", s.get("uses", "")) for s in steps]
    setup, quarto, docs = runs.index("make setup"), next(i for i, r in enumerate(runs) if "quarto-actions/setup" in r), runs.index("make docs")
    assert setup < quarto < docs
    assert not any("pip" in r for r in runs), "nothing is installed outside make setup's .venv"


def _pip_lines(text: str) -> list[str]:
    return [l.strip() for l in text.splitlines() if "-m pip install" in l and not l.strip().startswith("#")]


def test_binder_installs_what_make_setup_installs():
    make = (ROOT / "Makefile").read_text()
    setup = make[make.index("\nsetup:"):make.index("\nlock:")]
    want = [l.replace("$(BIN)/python", "python").replace("$(LOCK)", "requirements.lock") for l in _pip_lines(setup)]
    post = ROOT / "binder/postBuild"
    assert _pip_lines(post.read_text()) == want and os.access(post, os.X_OK)
    ci = yaml.safe_load((ROOT / ".github/workflows/test.yaml").read_text())["jobs"]["test"]["steps"]
    python = next(s["with"]["python-version"] for s in ci if "setup-python" in s.get("uses", ""))
    assert (ROOT / "binder/runtime.txt").read_text().strip() == f"python-{python}", "Binder runs the Python of CI and the lock file"


def test_citation_cff_is_valid_and_cites_the_paper_and_the_data():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and {"message", "title", "authors"} <= set(cff)
    assert all("name" in a or "family-names" in a for a in cff["authors"])
    assert cff["version"] == CFG["version"] and cff["repository-code"] == CFG["git_url"]
    refs = {r["title"]: r for r in cff["references"]}
    paper = refs["Feature-Driven Deep Learning for Osteoporosis Detection"]
    assert paper["authors"] == [{"given-names": "A K M Salman", "family-names": "Hosain"}]
    assert not {"year", "journal", "date-published"} & set(paper), "the paper's text names no venue or year"
    data = refs["Knee X-ray Osteoporosis Database"]
    assert data["doi"] == "10.17632/fxjm8fb6mw.2" and data["version"] == "2"
    assert [a["family-names"] for a in data["authors"]] == ["Wani", "Arora"]
    for r in cff["references"]: assert {"type", "title", "authors"} <= set(r)
