"""Packaging: the sdist, the compiled wheel built from it and the pure py3-none-any wheel.

Each wheel is installed into a fresh venv (with its runtime dependencies from the configured
index) and must report every component as compiled, or every one as pure, respectively.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PYX = {f"queen/_speedups/_{name}_c.pyx" for name in ("ring", "codec", "batch")}
PROBE = "import json, queen._speedups as s; print(json.dumps(s.IMPLEMENTATIONS))"


def _run(cmd: List[str], cwd: Path, env: Optional[Dict[str, str]] = None) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QUEEN_")}
    environ.pop("PYTHONPATH", None)
    environ.update(env or {})
    done = subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f"{cmd} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def _wheel(sdist: Path, out: Path, env: Dict[str, str]) -> Path:
    _run([sys.executable, "-m", "pip", "wheel", str(sdist), "--no-deps", "-w", str(out)], out, env)
    (wheel,) = out.glob("*.whl")
    return wheel


def _installed_implementations(wheel: Path, venv: Path) -> Dict[str, str]:
    _run([sys.executable, "-m", "venv", str(venv)], venv.parent)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], venv.parent)
    # Run from the venv's directory so the source tree is not on the path.
    return dict(json.loads(_run([str(python), "-c", PROBE], venv.parent)))


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    # An sdist needs no compiler and no Cython (the test environment has neither as a
    # requirement): the .pyx sources get in through MANIFEST.in, and pip builds the wheels
    # below in isolated environments that install the build requirements.
    _run(
        [sys.executable, "setup.py", "-q", "sdist", "-d", str(out)],
        ROOT,
        {"QUEEN_NO_EXTENSIONS": "1"},
    )
    (archive,) = out.glob("*.tar.gz")
    return archive


def test_sdist_carries_the_cython_sources(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert names >= PYX | {"setup.py", "pyproject.toml", "MANIFEST.in"}
    assert not [n for n in names if n.endswith((".c", ".so", ".pyd"))]


def test_wheels_install_and_load_their_twins(
    sdist: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("wheels")
    (base / "compiled").mkdir()
    (base / "pure").mkdir()
    with ThreadPoolExecutor(2) as pool:
        compiled_job = pool.submit(_wheel, sdist, base / "compiled", {})
        pure_job = pool.submit(_wheel, sdist, base / "pure", {"QUEEN_NO_EXTENSIONS": "1"})
        compiled, pure = compiled_job.result(), pure_job.result()

    assert pure.name.endswith("-py3-none-any.whl")
    assert "-py3-none-any" not in compiled.name
    with zipfile.ZipFile(compiled) as zf:
        binaries = [n for n in zf.namelist() if n.endswith((".so", ".pyd"))]
    assert len(binaries) == 3
    with zipfile.ZipFile(pure) as zf:
        assert not [n for n in zf.namelist() if n.endswith((".so", ".pyd"))]

    with ThreadPoolExecutor(2) as pool:
        got_compiled = pool.submit(_installed_implementations, compiled, base / "venv-c")
        got_pure = pool.submit(_installed_implementations, pure, base / "venv-p")
        assert got_compiled.result() == {
            "ring": "compiled",
            "codec": "compiled",
            "batch": "compiled",
        }
        assert got_pure.result() == {"ring": "pure", "codec": "pure", "batch": "pure"}


def test_a_machine_without_a_compiler_builds_the_pure_package(
    sdist: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # `pip install` must work where no C compiler exists: the build warns and ships the twins.
    # (With a compiler present, a compile error still fails the build.)
    out = tmp_path_factory.mktemp("no-compiler")
    wheel = _wheel(sdist, out, {"CC": str(out / "no-such-cc")})
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert not [n for n in zf.namelist() if n.endswith((".so", ".pyd"))]
