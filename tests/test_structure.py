"The package's shape: every module states its job, and imports only the stages before it (so there is no import circle)."
import ast, re
from pathlib import Path

from osteo_nb.config import DEFAULT_PROFILE

PKG = Path(__file__).resolve().parents[1] / "osteo_nb"


def notebook_of(module: Path) -> str:
    "The notebook a module is exported from (its name orders the stages: 00_config < 02a_images < 03_data < ... < 91_cli)."
    m = re.search(r"File to edit: \.\./nbs/(\S+)\.ipynb", module.read_text())
    assert m, f"{module.name} names no notebook: export it with nbdev_export"
    return m.group(1)


def imports(module: Path) -> set[str]:
    "Every osteo_nb module `module` imports, at the top or inside a function."
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level == 1: found |= {name} if name else {a.name for a in node.names}
            elif name.startswith("osteo_nb."): found.add(name.split(".")[1])
            elif name == "osteo_nb": found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("osteo_nb.")}
    return found - {"_modidx"}


MODULES = {p.stem: p for p in sorted(PKG.glob("*.py")) if p.stem not in ("__init__", "_modidx")}


def test_every_module_opens_with_its_job():
    for name, p in MODULES.items():
        doc = ast.get_docstring(ast.parse(p.read_text()))
        assert doc and len(doc.split()) >= 5, f"{name}.py does not open with a sentence saying what it does"


def test_imports_follow_the_stage_order():
    "A module imports only modules of earlier notebooks: the import graph has no circle, and no stage reaches up."
    order = {name: notebook_of(p) for name, p in MODULES.items()}
    upward = sorted(f"{name} ({order[name]}) imports {dep} ({order[dep]})"
                    for name, p in MODULES.items() for dep in imports(p) if dep in order and order[dep] >= order[name])
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    "The check above can fail: an import of a later stage is found, at the top or inside a function."
    p = tmp_path / "x.py"
    p.write_text('"""x"""\nfrom .config import StudyConfig\ndef f():\n    from osteo_nb.trace import trace\n')
    assert imports(p) == {"config", "trace"}


STUDY = PKG.parent / "nbs" / "study"


def definitions(source: str) -> list[str]:
    "The functions, classes and lambdas a cell's code defines (IPython magics and shell lines are left out)."
    code = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))
    kinds = ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda
    return [getattr(n, "name", "lambda") for n in ast.walk(ast.parse(code)) if isinstance(n, kinds)]


def test_study_notebooks_define_nothing():
    "A study notebook reads like a methods section: what it needs is a library function (DESIGN), not a helper of its own."
    import nbformat
    found = [f"{nb.name} cell {i}: {', '.join(d)}" for nb in sorted(STUDY.glob("*.ipynb"))
             for i, c in enumerate(nbformat.read(nb, as_version=4).cells) if c.cell_type == "code" and (d := definitions(c.source))]
    assert len(list(STUDY.glob("*.ipynb"))) >= 13 and not found, "\n".join(found)


_LOOPS = {ast.For: "for", ast.AsyncFor: "for", ast.While: "while", ast.ListComp: "comprehension", ast.SetComp: "comprehension",
          ast.DictComp: "comprehension", ast.GeneratorExp: "comprehension"}


def loops(code: str) -> list[str]:
    "The `for` and `while` statements and the comprehensions of a cell: a map over the models or splits is a loop too."
    return [_LOOPS[type(n)] for n in ast.walk(ast.parse(code)) if type(n) in _LOOPS]


def test_study_notebooks_loop_over_nothing():
    "A loop over conditions (models, metrics, units) is a step of the study, and belongs in a library function."
    import nbformat
    found = [f"{nb.name} cell {i}: {', '.join(d)}" for nb in sorted(STUDY.glob("*.ipynb"))
             for i, c in enumerate(nbformat.read(nb, as_version=4).cells) if c.cell_type == "code" and (d := loops(c.source))]
    assert not found, "\n".join(found)


def test_the_check_sees_a_loop():
    assert sorted(loops("for m in models:\n    save(m)\nx = [f(m) for m in models]\nwhile False: pass")) == ["comprehension", "for", "while"]
    assert loops("y = {r: f(s) for r, s in specs.items()}\nz = sum(v for v in w)") == ["comprehension", "comprehension"]
    assert loops("x = run_experiments('original', specs, arrays, cfg)") == []


def test_the_check_sees_a_definition():
    assert definitions("x = 1\ndef f(a): return a\ny = lambda v: v\n%matplotlib inline") == ["f", "lambda"]


def parameter_values(nb) -> dict:
    "The values a notebook's `parameters` cell assigns (literals only)."
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {t.id: ast.literal_eval(n.value) for n in ast.parse(cell.source).body for t in n.targets}


DEFAULT_PARAMETERS = {"profile": DEFAULT_PROFILE, "data_dir": "data/raw", "out_dir": "runs/notebooks", "seed": None, "overrides": {}}


def test_committed_study_notebooks_are_clean():
    """What a reader opens is the notebook, not a run of it: no outputs, and the parameters at their defaults (a session in
    JupyterLab that saved a test's parameters or a run's outputs into `nbs/study/` fails here)."""
    import nbformat
    found = []
    for path in sorted(STUDY.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if n := sum(bool(c.get("outputs")) for c in nb.cells if c.cell_type == "code"): found.append(f"{path.name}: {n} cells with outputs")
        if (p := parameter_values(nb)) != DEFAULT_PARAMETERS: found.append(f"{path.name}: parameters {p}")
    assert not found, "\n".join(found)
