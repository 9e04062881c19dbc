"""The LIME viewer in a headless JupyterLab: everything a reader's JupyterLab does, except drawing pixels.

No browser can be installed by `make setup` (pip only; playwright and pyppeteer fetch their browsers
from their own servers, not from a package registry), so this test plays the browser's part over
JupyterLab's own interfaces: it starts `jupyter lab` headless on the repository, checks that the
application page and the ipywidgets extension are served, opens study notebook 3 through the
contents API, starts a kernel session for it, and runs a viewer over the kernel's websocket. The
kernel must send the widget view and the models JupyterLab's widget manager renders, and a slider
move sent as the browser sends it (a comm `update` message) must redraw the figure.
"""
import json, socket, subprocess, time, uuid
import urllib.request

import pytest

from conftest import BIN, ROOT

import websocket  # websocket-client (dev requirement; jupyter_server needs it too)

TOKEN = uuid.uuid4().hex
VIEWER = """
import numpy as np, pandas as pd
from osteo_nb.synthetic import synthetic_knee
from osteo_nb.xai import Explanation, LimeViewer
seg = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 56, 0), 56, 1)
rng = np.random.default_rng(0)
images = np.stack([synthetic_knee(s) for s in range(2)])
exps = {"m": [Explanation(1, np.array([0.3, 0.7]), seg, rng.normal(size=16), 0.0, 0.5, 0.6) for _ in images]}
table = pd.DataFrame({"split": ["test", "test"], "label": [0, 1], "pred_m": [1, 1], "name": ["a", "b"]})
viewer = LimeViewer(table, images, exps)
viewer.widget()
"""


def _free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _get(base, path, data=None):
    req = urllib.request.Request(f"{base}{path}", data=None if data is None else json.dumps(data).encode(),
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r: return r.status, r.read().decode()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, log = _free_port(), tmp_path_factory.mktemp("lab") / "jupyter.log"
    proc = subprocess.Popen([str(BIN / "jupyter"), "lab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={ROOT}"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try: _get(base, "/api/status"); break
        except OSError: time.sleep(0.5)
    else: proc.kill(); pytest.fail(f"jupyter lab did not start within 60 s:\n{log.read_text()[-2000:]}")
    yield base
    proc.terminate(); proc.wait(timeout=30)


def _msg(session, channel, msg_type, content):
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "test",
                       "version": "5.3", "date": ""}, "parent_header": {}, "metadata": {}, "content": content,
            "channel": channel, "buffers": []}


def _run(ws, session, code, timeout=180):
    "Execute `code`; every message the kernel sends in reply to it, until it is idle again."
    req = _msg(session, "shell", "execute_request", {"code": code, "silent": False, "store_history": False,
                                                      "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    ws.send(json.dumps(req))
    return _until_idle(ws, req["header"]["msg_id"], timeout)


def _until_idle(ws, msg_id, timeout):
    got, end = [], time.time() + timeout
    while time.time() < end:
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") != msg_id: continue
        got.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle": return got
    pytest.fail(f"no reply within {timeout} s")


def test_jupyterlab_serves_the_app_and_the_widget_extension(lab):
    status, page = _get(lab, "/lab")
    assert status == 200 and "JupyterLab" in page
    status, ext = _get(lab, "/lab/api/extensions")
    found = {e["name"]: (e["enabled"], e["status"]) for e in json.loads(ext)}
    assert found.get("jupyter-widgets-jupyterlab-manager") == (True, "ok"), found  # without it JupyterLab shows widgets as text


def test_the_viewer_runs_in_a_jupyterlab_kernel_and_its_slider_redraws(lab):
    status, model = _get(lab, "/api/contents/nbs/study/03_explanations.ipynb")
    assert status == 200 and "LimeViewer(" in model  # the notebook a reader opens
    _, sess = _get(lab, "/api/sessions", {"path": "nbs/study/03_explanations.ipynb", "type": "notebook", "kernel": {"name": "python3"}})
    kernel = json.loads(sess)["kernel"]["id"]
    ws = websocket.create_connection(f"{lab.replace('http', 'ws')}/api/kernels/{kernel}/channels?token={TOKEN}", timeout=240)
    session = uuid.uuid4().hex
    try:
        reply = _run(ws, session, VIEWER)
        errors = [m["content"] for m in reply if m["msg_type"] == "error"]
        assert not errors, errors
        views = [m for m in reply if m["msg_type"] in ("execute_result", "display_data")
                 and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
        assert views, "the viewer was not displayed as a widget"
        models = {m["content"]["comm_id"]: m["content"]["data"]["state"] for m in reply
                  if m["msg_type"] == "comm_open" and m["content"]["target_name"] == "jupyter.widget"}
        names = {s.get("_model_name") for s in models.values()}
        assert {"VBoxModel", "IntSliderModel", "DropdownModel", "ToggleButtonsModel", "OutputModel"} <= names
        slider = next(c for c, s in models.items() if s.get("_model_name") == "IntSliderModel")
        move = _msg(session, "shell", "comm_msg", {"comm_id": slider, "data": {"method": "update", "state": {"value": 3}, "buffer_paths": []}})
        ws.send(json.dumps(move))
        _until_idle(ws, move["header"]["msg_id"], 120)
        check = _run(ws, session, "print(viewer.k.value, viewer.figure is not None)")
        out = "".join(m["content"].get("text", "") for m in check if m["msg_type"] == "stream")
        assert out.split() == ["3", "True"]
    finally:
        ws.close()
