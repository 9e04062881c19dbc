"""The methods page is rendered from `nbs/methods.ipynb`, and every number in it comes from a file.

`osteo-readme` renders the methods notebook to METHODS.md as it renders the index notebook to README.md: each
`{{source.key}}` placeholder is filled from `results/`, the published run's configuration or the library
(`osteo_nb.docs`), and the notebook's links, relative to `nbs/`, are made relative to the root. These tests fail when
METHODS.md is out of date, when the page types a number by hand (beyond `docs.METHODS_ALLOWED`: versions, names,
fixed references), when a placeholder does not resolve, when a relative link of the page or of its notebook leads
nowhere, and when the README does not link the rendered page.
"""
import re

import nbformat
import pytest

from conftest import ROOT
from osteo_nb.docs import MARK, METHODS_ALLOWED, PAGES, _CODE, _PLACEHOLDER, hand_typed, placeholder_values, render_page

METHODS = ROOT / "METHODS.md"
NOTEBOOK = ROOT / PAGES["METHODS.md"][0]


@pytest.fixture(scope="module")
def marked():
    "The methods page rendered with `MARK` around every filled value."
    return render_page("METHODS.md", mark=MARK)


def _prose(text: str) -> str:
    "`text` without its code (fenced blocks and inline code), where placeholders and links are not read."
    return "".join(_CODE.split(text)[::2])


def _markdown(nb_path) -> str:
    return "\n\n".join(c.source for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "markdown")


def test_methods_page_is_rendered_from_the_notebook_and_the_results(marked):
    assert METHODS.read_text() == marked.replace(MARK, ""), "METHODS.md is out of date: run osteo-readme (make sync)"


def test_every_number_in_the_methods_page_is_filled_from_a_file(marked):
    assert hand_typed(marked, allowed=METHODS_ALLOWED) == [], \
        "numbers typed by hand in nbs/methods.ipynb: write a {{source.key}} placeholder (a name with digits: docs.METHODS_ALLOWED)"


def test_the_methods_allowlist_lets_numbers_through(tmp_path):
    "The check can fail: a number beside the allowed names is found, in prose and in a table."
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Study notebook 9 in f32 took 83 minutes (95 % of it LIME).\n\n| a | b |\n|---|---|\n| 0.935 | 7/0 |"))
    nbformat.write(nb, tmp_path / "methods.ipynb")
    assert hand_typed(render_page("METHODS.md", tmp_path / "methods.ipynb", mark=MARK), allowed=METHODS_ALLOWED) == ["83", "0.935", "7/0"]


def test_every_placeholder_of_the_methods_notebook_resolves():
    get, found = placeholder_values(), _PLACEHOLDER.findall(_prose(_markdown(NOTEBOOK)))
    assert len(found) > 300, "the methods notebook should hold its numbers as placeholders"
    unresolved = []
    for source, key, spec in found:
        try: get(source, key)
        except (KeyError, ValueError, FileNotFoundError) as e: unresolved.append(f"{{{{{source}.{key}}}}}: {e}")
    assert not unresolved, "\n".join(unresolved)
    assert "{{" not in _prose(METHODS.read_text()), "a placeholder of METHODS.md was left unfilled"


def _relative_targets(text: str) -> list[str]:
    "The relative link and image targets of a page's prose, without their anchors."
    targets = re.findall(r"\]\(([^)\s]+)\)", _prose(text))
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:|/|#", t)]


@pytest.mark.parametrize("page", ["METHODS.md", PAGES["METHODS.md"][0]])
def test_relative_links_of_the_methods_page_lead_to_files(page):
    "From METHODS.md at the root and from the notebook in nbs/ (GitHub and the docs site)."
    path = ROOT / page
    targets = _relative_targets(path.read_text() if path.suffix == ".md" else _markdown(path))
    assert len(targets) >= 5
    missing = [t for t in targets if not (path.parent / t).exists()]
    assert not missing, f"{page} links to files that are not there, relative to {path.parent.relative_to(ROOT) or '.'}: {missing}"


def test_the_readme_links_the_rendered_methods_page():
    readme = (ROOT / "README.md").read_text()
    assert "](METHODS.md)" in readme and "](nbs/methods.ipynb)" not in readme, "GitHub readers should land on METHODS.md, which shows numbers"
