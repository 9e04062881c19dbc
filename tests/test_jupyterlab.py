"""Study notebook 3 in a real JupyterLab, in headless Chromium, the way a reader meets it.

The test opens `nbs/study/03_explanations.ipynb` where it sits, types the parameters of a small
smoke run into its parameters cell (a synthetic data set; what the run's notebooks 1-3 wrote, copied
as soon as the session's smoke run has run them), runs all
cells, and then uses the LIME viewer: it moves the slider and switches positive / negative / both,
and checks that the viewer's drawing is an image that changes each time. It also checks that the
notebook's figures are drawn inline. Screenshots go to `$OSTEO_SCREENSHOTS` (default: the test's
temporary folder) so that a person can look at them.

Chromium comes from Debian (`apt-get install chromium`, which `.ci/run` does) and Playwright from
PyPI; where either is missing the test skips and says why.
"""
import json, os, shutil, socket, subprocess, time, uuid
import urllib.request
from pathlib import Path

import pytest

import smoke  # tests/smoke.py
from conftest import BIN, ROOT

CHROMIUM = Path(os.environ.get("OSTEO_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # no network calls on a closed machine
TOKEN = uuid.uuid4().hex
NOTEBOOK = "nbs/study/03_explanations.ipynb"
FIRST = "01_data_report.ipynb", "02_train_original.ipynb", "03_explanations.ipynb"  # what notebook 3 reads, and itself


def _free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "A JupyterLab server on the repository: its base `url` and its `log` file."
    home = tmp_path_factory.mktemp("lab")
    port, log, settings = _free_port(), home / "jupyter.log", home / "settings/@jupyterlab/notebook-extension"
    settings.mkdir(parents=True)  # every cell in the page, not only those scrolled into view (JupyterLab 4 windowing)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    docs = home / "settings/@jupyterlab/docmanager-extension"  # no autosave: the test types into the repository's notebook
    docs.mkdir(parents=True)
    (docs / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    proc = subprocess.Popen([str(BIN / "jupyter"), "lab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={ROOT}", f"--LabApp.user_settings_dir={home / 'settings'}"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try: urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5); break
        except OSError: time.sleep(0.5)
    else: proc.kill(); pytest.fail(f"jupyter lab did not start within 120 s:\n{log.read_text()[-2000:]}")
    yield {"url": base, "log": log}
    proc.terminate(); proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    "Headless Debian Chromium driven by Playwright; skips, saying why, where either is missing."
    if not CHROMIUM.exists(): pytest.skip(f"{CHROMIUM} is missing: `apt-get install -y chromium` (Debian) provides it")
    try: from playwright.sync_api import sync_playwright
    except ImportError: pytest.skip("playwright is not installed (`make setup` installs it from PyPI)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def untouched_notebook():
    "`NOTEBOOK` as it was before the test, restored after it; the test fails if JupyterLab wrote to it (a test's parameters or outputs)."
    path = ROOT / NOTEBOOK
    before = path.read_bytes()
    yield path
    after = path.read_bytes()
    path.write_bytes(before)
    assert after == before, f"JupyterLab saved into {NOTEBOOK} (restored): a test must leave the repository as it found it"


@pytest.fixture
def shots(tmp_path):
    d = Path(os.environ.get("OSTEO_SCREENSHOTS", tmp_path)); d.mkdir(parents=True, exist_ok=True)
    return d


def _parameters(run_dir: Path, out_dir: Path) -> str:
    "The smoke run's parameters for notebook 3 (papermill's injected cell), with `out_dir` moved to a copy of the run."
    nb = json.loads((run_dir / "03_explanations.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    lines = [l for l in "".join(cell["source"]).splitlines() if l.strip() and not l.startswith("#")]
    return "\n".join(f'out_dir = "{out_dir}"' if l.startswith("out_dir") else l for l in lines)


def _prompts(page) -> list[str]:
    "The execution prompt of every code cell: `[ ]:` never run, `[*]:` running or queued, `[3]:` run."
    return [t.strip() for t in page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()]


def _click_run_all(page):
    page.locator(".jp-Notebook").first.click()
    page.keyboard.press("Escape")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def _run_all_and_wait(page, timeout_s=900, retry_s=60):
    """Run All Cells, then wait until a cell has run and none is running or queued, with the kernel idle. On a loaded
    machine a Run All given while the kernel still starts can run nothing: if no cell has started after `retry_s`
    seconds, it is given again."""
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    idle.first.wait_for(timeout=180_000)  # the kernel has started
    _click_run_all(page)
    start = time.time(); end, retried = start + timeout_s, False
    page.wait_for_timeout(2000)
    while time.time() < end:
        p = _prompts(page)
        started = any(x != "[ ]:" for x in p)
        if started and "[*]:" not in p and idle.count(): return
        if not started and not retried and time.time() - start > retry_s: _click_run_all(page); retried = True
        page.wait_for_timeout(1000)
    pytest.fail(f"the notebook did not finish within {timeout_s} s (prompts: {_prompts(page)})")


def test_jupyterlab_serves_the_widget_extension(lab):
    with urllib.request.urlopen(f"{lab['url']}/lab/api/extensions?token={TOKEN}", timeout=30) as r: ext = json.loads(r.read())
    found = {e["name"]: (e["enabled"], e["status"]) for e in ext}
    assert found.get("jupyter-widgets-jupyterlab-manager") == (True, "ok"), found  # without it JupyterLab shows widgets as text


def _copy_first_notebooks(run_dir: Path, copy: Path, names=FIRST) -> Path:
    "Copy what notebooks `names` of a run wrote, and its manifest, into `copy` (the run may still be writing the rest)."
    for rel in [*smoke.written_by(run_dir, names), "manifest.json"]:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir / rel, copy / rel)
    return copy


def _open_notebook(page, lab, shots, tries=2, timeout_s=150):
    """Open `NOTEBOOK` in JupyterLab and return its parameters cell. On a loaded machine JupyterLab's first load can
    take minutes, or stall: after `timeout_s` seconds without the cell the page is loaded again, up to `tries` times.
    If it never shows, the failure names a screenshot of what the page showed and the server's last log lines."""
    params = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="overrides = {}").first
    for _ in range(tries):
        page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        try: params.wait_for(timeout=timeout_s * 1000); return params
        except Exception: pass  # playwright's TimeoutError
    page.screenshot(path=str(shot := shots / "lab_not_opened.png"))
    pytest.fail(f"JupyterLab did not show {NOTEBOOK}'s parameters cell in {tries} loads of {timeout_s} s; the page: {shot}; "
                f"the server's log ends:\n{lab['log'].read_text()[-3000:]}")


def test_study_notebook_3_runs_where_it_sits_and_its_viewer_draws_and_redraws(lab, browser, smoke_dir, tmp_path, shots, untouched_notebook):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    params = _open_notebook(page, lab, shots)  # the notebook is the repository's: it opens while the smoke run works
    assert "profile =" in params.inner_text() and "out_dir =" in params.inner_text()
    run_dir = smoke.wait_for_notebook(smoke_dir, FIRST[-1])  # the smoke run goes on with notebooks 4-13 meanwhile
    copy = _copy_first_notebooks(run_dir, tmp_path / "run")  # the reader's run writes here, not into the shared smoke run
    params.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(_parameters(run_dir, copy))
    _run_all_and_wait(page)
    page.screenshot(path=str(shots / "lab_notebook3.png"), full_page=True)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Traceback")
    assert errors.count() == 0, errors.first.inner_text()
    figures = page.locator(".jp-OutputArea-output img")
    assert figures.count() >= 5, f"{figures.count()} images in the outputs: the figures are not drawn inline"

    viewer = page.locator(".widget-vbox").filter(has=page.locator(".widget-slider")).first
    viewer.scroll_into_view_if_needed()
    drawing = viewer.locator("img").first
    drawing.wait_for(timeout=120_000)
    box = drawing.bounding_box()
    assert box and box["height"] > 100 and box["width"] > 100, box  # a drawing a reader can see, not a 0 px area

    def state(name):
        page.wait_for_timeout(500)
        shot = shots / f"lab_viewer_{name}.png"
        drawing.screenshot(path=str(shot))
        return shot.read_bytes()

    seen = {"start": state("start")}
    readout = viewer.locator(".widget-readout").first
    before = readout.inner_text()
    viewer.locator(".widget-slider .noUi-handle, .widget-slider [role=slider]").first.focus()
    for _ in range(3): page.keyboard.press("ArrowRight")
    page.wait_for_function("([el, v]) => el.innerText !== v", arg=[readout.element_handle(), before], timeout=30_000)
    assert int(readout.inner_text()) > int(before)
    page.wait_for_timeout(1500)
    seen["slider"] = state("slider")
    for sign in ("negative", "both"):
        viewer.locator(".widget-toggle-buttons button", has_text=sign).click()
        page.wait_for_timeout(1500)
        seen[sign] = state(sign)
    assert len(set(seen.values())) == len(seen), f"the drawing did not change on every control: {list(seen)}"


def test_the_viewer_draws_without_a_kernel(browser, tmp_path, shots):
    "`xai.static_viewer` in a plain page (as on the docs site): its canvas redraws on the slider and on every button."
    import numpy as np, pandas as pd
    from osteo_nb.synthetic import synthetic_knee
    from osteo_nb.xai import Explanation, LimeViewer, static_viewer
    seg = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 56, 0), 56, 1)
    rng = np.random.default_rng(0)
    images = np.stack([synthetic_knee(s) for s in range(2)])
    exps = {"m": [Explanation(1, np.array([0.3, 0.7]), seg, rng.normal(size=16), 0.0, 0.5, 0.6) for _ in images]}
    table = pd.DataFrame({"split": ["test", "test"], "label": [0, 1], "pred_m": [1, 1], "name": ["a", "b"]})
    html = tmp_path / "viewer.html"
    html.write_text(f"<!doctype html><html><body>{static_viewer(LimeViewer(table, images, exps))}</body></html>")
    page = browser.new_page()
    page.goto(html.as_uri())
    root = page.locator(".osteo-viewer")

    def drawn(n, name):
        page.wait_for_function("n => +document.querySelector('.osteo-viewer').dataset.drawn >= n", arg=n, timeout=30_000)
        root.screenshot(path=str(shots / f"static_viewer_{name}.png"))
        return page.evaluate("document.querySelector('.osteo-viewer canvas').toDataURL()")

    seen = [drawn(1, "start")]
    page.locator("input.k").focus()
    for _ in range(3): page.keyboard.press("ArrowRight")
    assert page.locator("span.k").inner_text() == "8"
    seen.append(drawn(4, "slider"))  # one drawing per arrow press
    for n, sign in enumerate(("negative", "both"), 5):
        page.locator("button", has_text=sign).click()
        seen.append(drawn(n, sign))
    assert len(set(seen)) == len(seen), "the canvas did not change on every control"
    assert "top 8 (both)" in page.locator("span.caption").inner_text()
