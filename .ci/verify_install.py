#!/usr/bin/env python3
"""Checks queen-turbo as a user gets it: installed from a wheel or an sdist into an environment.

Run it with the interpreter of the environment queen-turbo is installed in:

    python .ci/verify_install.py --expect compiled --tests tests [--wheel WHEEL]

* ``--wheel``: the wheel holds the package, its ``py.typed`` and its license, and nothing else:
  no test files, no C intermediates; a compiled wheel has one compiled module per ``.pyx``
  source and a platform tag, the pure one none and ``py3-none-any``.
* In a fresh interpreter without any switch, ``queen`` comes from the environment (not from a
  checkout), every compiled module it ships imports, and ``queen._speedups`` picks the expected
  twin for every component.
* The client test files that need nothing of the source tree pass, copied with the project's
  pytest configuration into a temporary directory, so ``queen`` can only be the installed one:
  with ``QUEEN_REQUIRE_EXTENSIONS=1`` for a compiled install, ``QUEEN_NO_EXTENSIONS=1`` for
  the pure one.
* ``python -m queen.demo`` runs.

.ci/wheels.py runs it for every artifact built on this machine; the publishing workflow runs it
(as cibuildwheel's test command) for every platform's wheels.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Dict, List

# The test files that exercise what differs between one install and another and need nothing
# else of the source tree: both twins of every speedup (the compiled one is this install's),
# every module of the package importing (client/test_package.py), the client against the
# in-process broker, and the end-to-end round trip. The consumer, transport, broker-double and
# HTTP/2 suites test pure Python that is the same in every install; .ci/run runs them from the
# checkout on the oldest, the newest and the main Python.
TEST_PATHS = ("test_speedups_selection.py", "speedups", "client", "e2e")
# What those files import from beside them: the shared fixtures and every helper module
# (tests/_*.py: the broker handle, the fault proxy, ...).
SUPPORT = ("conftest.py", "_*.py")
SWITCHES = ("QUEEN_NO_EXTENSIONS", "QUEEN_REQUIRE_EXTENSIONS")

# Printed as JSON by a fresh interpreter: where `queen` was imported from, what it reports, and
# which compiled modules it ships (each imported by name).
PROBE = r"""
import importlib, importlib.machinery, importlib.metadata, json, os, sysconfig
import queen, queen._speedups as s
here = os.path.dirname(s.__file__)
suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
compiled = sorted(
    name.split(".", 1)[0] for name in os.listdir(here) if name.endswith(suffixes)
)
for module in compiled:
    importlib.import_module("queen._speedups." + module)
paths = sysconfig.get_paths()
print(json.dumps({
    "file": queen.__file__,
    "site": sorted({paths["purelib"], paths["platlib"]}),
    "version": queen.__version__,
    "dist_version": importlib.metadata.version("queen-turbo"),
    "components": list(s.COMPONENTS),
    "implementations": s.IMPLEMENTATIONS,
    "compiled": compiled,
}))
"""


class CheckFailed(Exception):
    """One check did not hold; the message says which and why."""


def _environ(**switches: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and k != "PYTHONPATH"}
    env.update(switches)
    return env


def _step(name: str, started: float) -> None:
    print(f"verify: {name}: ok ({time.monotonic() - started:.1f} s)", flush=True)


def wheel_problems(wheel: Path, expect: str) -> List[str]:
    """What is wrong with the wheel's file list and tag (empty when nothing is)."""
    problems: List[str] = []
    pure_tag = wheel.name.endswith("-py3-none-any.whl")
    if expect == "pure" and not pure_tag:
        problems.append(f"{wheel.name}: the pure wheel must be tagged py3-none-any")
    if expect == "compiled" and pure_tag:
        problems.append(f"{wheel.name}: a compiled wheel must carry a platform tag")
    with zipfile.ZipFile(wheel) as zf:
        names = [PurePosixPath(n) for n in zf.namelist() if not n.endswith("/")]
    dist_info = [n for n in names if n.parts[0].endswith(".dist-info")]
    package = [n for n in names if n.parts[0] == "queen"]
    # Where auditwheel and delvewheel put the shared libraries they graft (none on Linux, where
    # .ci/wheels.py checks that; Windows may get the C runtime).
    grafted = [n for n in names if n.parts[0] == "queen_turbo.libs"]
    for name in sorted(set(names) - set(dist_info) - set(package) - set(grafted)):
        problems.append(f"{name}: outside the package")
    for name in package:
        stem = name.name
        if name.suffix in {".c", ".cpp", ".h", ".html", ".o"}:
            problems.append(f"{name}: a build intermediate")
        if "tests" in name.parts or stem == "conftest.py" or re.match(r"test_.*\.py$", stem):
            problems.append(f"{name}: a test file")
    if PurePosixPath("queen/py.typed") not in package:
        problems.append("queen/py.typed: missing")
    if not any(n.parts[1:2] == ("licenses",) for n in dist_info):
        problems.append("*.dist-info/licenses/: no license file")
    sources = {n.name[: -len(".pyx")] for n in package if n.suffix == ".pyx"}
    binaries = {n.name.split(".", 1)[0] for n in package if n.suffix in {".so", ".pyd"}}
    if expect == "compiled" and binaries != sources:
        problems.append(f"compiled modules {sorted(binaries)} != .pyx sources {sorted(sources)}")
    if expect == "pure" and binaries:
        problems.append(f"compiled modules in the pure wheel: {sorted(binaries)}")
    return problems


def check_wheel(wheel: Path, expect: str) -> None:
    started = time.monotonic()
    problems = wheel_problems(wheel, expect)
    if problems:
        raise CheckFailed("wheel contents:\n  " + "\n  ".join(problems))
    _step(f"contents of {wheel.name}", started)


def check_probe(workdir: Path, expect: str, checkout: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=workdir, env=_environ(), capture_output=True, text=True
    )
    if done.returncode:
        raise CheckFailed(f"importing the installed package failed:\n{done.stderr}")
    got = json.loads(done.stdout)
    problems = []
    location = Path(got["file"]).resolve()
    if not any(location.is_relative_to(Path(site).resolve()) for site in got["site"]):
        problems.append(f"queen imported from {location}, not from the environment")
    if checkout / "queen" in location.parents:
        problems.append(f"queen imported from the source tree {checkout / 'queen'}")
    if got["version"] != got["dist_version"]:
        problems.append(f"queen.__version__ {got['version']} != metadata {got['dist_version']}")
    wanted_modules = [f"_{c}_c" for c in got["components"]] if expect == "compiled" else []
    if sorted(got["compiled"]) != sorted(wanted_modules):
        problems.append(f"compiled modules shipped: {got['compiled']}, expected {wanted_modules}")
    wanted = {c: expect for c in got["components"]}
    if got["implementations"] != wanted:
        problems.append(f"live twins {got['implementations']}, expected {wanted}")
    if problems:
        raise CheckFailed("installed package:\n  " + "\n  ".join(problems))
    _step(f"queen {got['version']} from {location.parent}, every twin {expect}", started)


def copy_tests(tests: Path, workdir: Path) -> List[str]:
    """The test files of TEST_PATHS, the project's pytest configuration and the README (one
    end-to-end test runs its example), copied."""
    target = workdir / "tests"
    target.mkdir()
    support = [p.name for pattern in SUPPORT for p in sorted(tests.glob(pattern))]
    for rel in support + list(TEST_PATHS):
        source = tests / rel
        if source.is_dir():
            shutil.copytree(source, target / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / rel)
    shutil.copy2(tests.parent / "pyproject.toml", workdir / "pyproject.toml")
    # tests/e2e/test_readme.py runs the README's example verbatim.
    shutil.copy2(tests.parent / "README.md", workdir / "README.md")
    return [f"tests/{rel}" for rel in TEST_PATHS]


def run_tests(workdir: Path, expect: str, tests: Path) -> None:
    started = time.monotonic()
    paths = copy_tests(tests, workdir)
    switch = "QUEEN_REQUIRE_EXTENSIONS" if expect == "compiled" else "QUEEN_NO_EXTENSIONS"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths]
    print(f"verify: {switch}=1 {' '.join(command[1:])}", flush=True)
    if subprocess.run(command, cwd=workdir, env=_environ(**{switch: "1"})).returncode:
        raise CheckFailed(f"the copied test files failed with {switch}=1 (output above)")
    _step("copied test files", started)


def run_demo(workdir: Path) -> None:
    started = time.monotonic()
    command = [sys.executable, "-m", "queen.demo"]
    if subprocess.run(command, cwd=workdir, env=_environ()).returncode:
        raise CheckFailed("python -m queen.demo failed (output above)")
    _step("python -m queen.demo", started)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expect", choices=("compiled", "pure"), required=True)
    parser.add_argument("--tests", type=Path, required=True, help="the checkout's tests/")
    parser.add_argument("--wheel", type=Path, help="the wheel that was installed")
    args = parser.parse_args(argv)
    tests = args.tests.resolve()
    try:
        if args.wheel:
            check_wheel(args.wheel, args.expect)
        with tempfile.TemporaryDirectory(prefix="queen-verify-") as tmp:
            workdir = Path(tmp)
            check_probe(workdir, args.expect, tests.parent)
            run_tests(workdir, args.expect, tests)
            run_demo(workdir)
    except CheckFailed as failure:
        print(f"verify: FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print(f"verify: every check passed ({sys.executable})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
