"The library, the notebooks and the README agree: export, clean and README rendering change nothing."
import shutil, subprocess
from pathlib import Path

import nbformat

from conftest import BIN, ROOT, cli


def _copy_project(tmp_path) -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".venv", ".git", "runs", ".cache", "__pycache__", "*.egg-info"))
    return dst


def _tree(d: Path, pattern: str) -> dict:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.glob(pattern))}


def test_library_is_exported_from_the_notebooks(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run([str(BIN / "nbdev_export")], cwd=proj, check=True, capture_output=True)
    assert _tree(proj, "osteo_nb/*.py") == _tree(ROOT, "osteo_nb/*.py"), "run nbdev_export (make sync) and commit"


def test_notebooks_are_clean(tmp_path):
    proj = _copy_project(tmp_path)
    for folder in ("nbs", "nbs/study"):
        subprocess.run([str(BIN / "nbdev_clean"), "--fname", folder], cwd=proj, check=True, capture_output=True)
    assert _tree(proj, "nbs/**/*.ipynb") == _tree(ROOT, "nbs/**/*.ipynb"), "run nbdev_clean (make sync) and commit"


def test_parameters_tag_survives_cleaning(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run([str(BIN / "nbdev_clean"), "--fname", "nbs/study"], cwd=proj, check=True, capture_output=True)
    for nb in sorted((proj / "nbs/study").glob("[0-9][0-9]_*.ipynb")):
        tags = [c.metadata.get("tags", []) for c in nbformat.read(nb, as_version=4).cells]
        assert sum("parameters" in t for t in tags) == 1, nb.name


def test_readme_is_rendered_from_index():
    r = cli("osteo-readme", "--check")
    assert r.returncode == 0, r.stderr
