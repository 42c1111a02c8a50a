#!/usr/bin/env python3
"""Builds queen-turbo's Linux release artifacts on this machine and checks each one as a user
gets it.

    python3 .ci/wheels.py                    # every CPython 3.9-3.13 found under pyenv
    python3 .ci/wheels.py --python 3.9 3.13  # a subset (.ci/run's choice)

Artifacts land in dist/ (earlier queen_turbo-* files there are removed first):

* the sdist, built without compiling anything;
* per CPython, a wheel built from the sdist (a missing compiler or a compile error fails),
  repaired and stripped by auditwheel to the oldest manylinux tag its symbols allow, as
  ``auditwheel show`` reports it;
* the pure ``py3-none-any`` wheel (``QUEEN_NO_EXTENSIONS=1``).

Checks, each job in parallel with its own log under .ci/.work/wheels/logs/:

* each compiled wheel, installed with its ``test`` extra into a fresh venv of its Python, passes
  .ci/verify_install.py (contents, every compiled twin live, the client tests, the demo); the
  pure wheel does on the oldest Python;
* the sdist, installed into a fresh venv of the newest Python with no cache (so it is compiled
  from scratch), passes the same;
* with no C compiler the sdist builds the pure wheel, and refuses to under
  ``QUEEN_REQUIRE_EXTENSIONS=1``;
* ``twine check --strict`` on every artifact; the version agrees with CHANGELOG.md; the
  cibuildwheel configuration selects exactly the builds the publishing workflow promises.

The tools come from .ci/wheels-tools.txt, installed into a venv of their own.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import release_check
from verify_install import SWITCHES, wheel_problems

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".ci" / ".work" / "wheels"
TOOLS_REQUIREMENTS = ROOT / ".ci" / "wheels-tools.txt"
VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
CPYTHONS = tuple("cp" + v.replace(".", "") for v in VERSIONS)
# What the publishing workflow builds with cibuildwheel: platform -> build identifiers.
CIBUILDWHEEL_BUILDS = {
    "linux": [
        f"{cp}-{libc}_{arch}"
        for cp in CPYTHONS
        for libc in ("manylinux", "musllinux")
        for arch in ("x86_64", "aarch64")
    ],
    "macos": [f"{cp}-macosx_{arch}" for cp in CPYTHONS for arch in ("x86_64", "arm64")],
    "windows": [f"{cp}-win_amd64" for cp in CPYTHONS],
}
LOG_TAIL = 80
_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:
        print(line, flush=True)


class StepFailed(Exception):
    def __init__(self, job: str, step: str, log: Path, detail: str = "") -> None:
        super().__init__(f"[{job}] {step}")
        self.job, self.step, self.log, self.detail = job, step, log, detail

    def report(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        tail = "\n".join(lines[-LOG_TAIL:])
        return (
            f"\n===== FAILED [{self.job}] {self.step} =====\n"
            + (f"{self.detail}\n" if self.detail else "")
            + f"----- last {min(LOG_TAIL, len(lines))} lines of {self.log} -----\n{tail}\n"
            + f"===== end of [{self.job}] =====\n"
        )


class Job:
    """One line of work with its own log; each step is timed and announced."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.log = WORK / "logs" / f"{name}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_text("")

    def run(
        self,
        step: str,
        cmd: Sequence[object],
        env: Optional[Dict[str, str]] = None,
        cwd: Path = ROOT,
        expect_failure: bool = False,
    ) -> str:
        """Run ``cmd``, appending its output to the log; return that output."""
        started = time.monotonic()
        argv = [str(c) for c in cmd]
        done = subprocess.run(
            argv, cwd=cwd, env=env or environ(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace",
        )
        with self.log.open("a") as log:
            log.write(f"\n$ {' '.join(argv)}\n{done.stdout}\n[exit {done.returncode}]\n")
        if bool(done.returncode) != expect_failure:
            what = "succeeded, but must fail" if expect_failure else f"exit {done.returncode}"
            raise StepFailed(self.name, f"{step}: {what}", self.log, f"$ {' '.join(argv)}")
        self.done(step, started)
        return done.stdout

    def check(self, step: str, problems: List[str]) -> None:
        with self.log.open("a") as log:
            log.write(f"\n# {step}\n" + "".join(f"problem: {p}\n" for p in problems))
        if problems:
            raise StepFailed(self.name, step, self.log, "\n".join(problems))
        self.done(step, time.monotonic())

    def done(self, step: str, started: float) -> None:
        say(f"[{self.name}] {step}: ok ({time.monotonic() - started:.1f} s)")


def environ(**overrides: str) -> Dict[str, str]:
    """This process's environment without the build switches or a checkout on the path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (*SWITCHES, "PYTHONPATH", "CC")
    }
    env.update(overrides)
    return env


def find_python(version: str) -> Path:
    """The newest pyenv CPython ``version``.N."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: List[Tuple[int, Path]] = []
    for path in root.glob(f"{version}.*"):
        match = re.fullmatch(rf"{re.escape(version)}\.(\d+)", path.name)
        if match and (path / "bin" / "python").exists():
            found.append((int(match.group(1)), path / "bin" / "python"))
    if not found:
        raise SystemExit(f"CPython {version} not found under {root}")
    return max(found)[1]


def cp_tag(version: str) -> str:
    return CPYTHONS[VERSIONS.index(version)]


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def tools_venv() -> Path:
    """A venv with the pinned tools; rebuilt when the requirements change."""
    venv = WORK / "tools"
    stamp = venv / "requirements.sha256"
    wanted = hashlib.sha256(TOOLS_REQUIREMENTS.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and venv_python(venv).exists():
        return venv
    job = Job("tools")
    job.run("venv", [sys.executable, "-m", "venv", "--clear", venv])
    job.run(
        "install " + TOOLS_REQUIREMENTS.name,
        [venv_python(venv), "-m", "pip", "install", "-q", "-r", TOOLS_REQUIREMENTS],
    )
    stamp.write_text(wanted)
    return venv


def check_config(tools: Path) -> None:
    job = Job("config")
    job.check("version and CHANGELOG.md", release_check.check())
    for platform, wanted in CIBUILDWHEEL_BUILDS.items():
        out = job.run(
            f"cibuildwheel selection on {platform}",
            [tools / "bin" / "cibuildwheel", "--print-build-identifiers", "--platform", platform],
        )
        got = sorted(line for line in out.split() if re.fullmatch(r"cp\d+-\w+", line))
        if got != sorted(wanted):
            job.check(
                f"cibuildwheel builds on {platform}",
                [f"selected {got}", f"expected {sorted(wanted)}"],
            )


def sdist_problems(sdist: Path) -> List[str]:
    """The sdist must carry exactly the tracked package files and the build inputs."""
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    problems = []
    tracked = subprocess.run(
        ["git", "ls-files", "queen"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    wanted = set(tracked) | {
        "setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "CHANGELOG.md", "LICENSE"
    }
    for name in sorted(wanted - names):
        problems.append(f"{name}: missing")
    for name in sorted(n for n in names if n.startswith("queen/") and "." in n.rsplit("/", 1)[-1]):
        if name not in wanted:
            problems.append(f"{name}: not a tracked package file (a build product?)")
    return problems


def build_sdist(tools: Path, dist: Path) -> Path:
    job = Job("sdist")
    job.run(
        "build",
        [venv_python(tools), "-m", "build", "--sdist", "--outdir", dist, ROOT],
        env=environ(QUEEN_NO_EXTENSIONS="1"),
    )
    (sdist,) = dist.glob("queen_turbo-*.tar.gz")
    job.check(f"contents of {sdist.name}", sdist_problems(sdist))
    return sdist


def fresh_venv(job: Job, python: Path) -> Path:
    venv = WORK / "venvs" / job.name
    job.run(f"fresh venv of {python}", [python, "-m", "venv", "--clear", venv])
    return venv


def install(
    job: Job, venv: Path, artifact: Path, *pip_args: str, env: Optional[Dict[str, str]] = None
) -> None:
    """``pip install ARTIFACT[test]``: the package and what its tests need, as declared.

    No bytecode compilation: it is most of the install time of the linters in that extra, and
    the modules under test compile when imported anyway.
    """
    job.run(
        " ".join(("pip install", *pip_args, f"{artifact.name}[test]")),
        [venv_python(venv), "-m", "pip", "install", "-q", "--no-compile", *pip_args,
         f"{artifact}[test]"],
        env=env,
    )


def verify(job: Job, venv: Path, expect: str, wheel: Optional[Path] = None) -> None:
    cmd: List[object] = [
        venv_python(venv), ROOT / ".ci" / "verify_install.py",
        "--expect", expect, "--tests", ROOT / "tests",
    ]
    if wheel is not None:
        cmd += ["--wheel", wheel]
    job.run(f"verify_install --expect {expect}", cmd, cwd=venv)


def one_wheel(built: Path) -> Path:
    wheels = list(built.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"{built}: expected one wheel, found {[w.name for w in wheels]}")
    return wheels[0]


def compiled_wheel(version: str, tools: Path, sdist: Path, dist: Path) -> Path:
    python = find_python(version)
    job = Job(cp_tag(version))
    raw = WORK / "raw" / job.name
    shutil.rmtree(raw, ignore_errors=True)
    job.run(
        "wheel from the sdist",
        [python, "-m", "pip", "wheel", "-q", "--no-cache-dir", "--no-deps", "-w", raw, sdist],
        env=environ(QUEEN_REQUIRE_EXTENSIONS="1"),
    )
    auditwheel = tools / "bin" / "auditwheel"
    tag = platform_tag(job, "auditwheel show", auditwheel, one_wheel(raw))
    repaired = WORK / "repaired" / job.name
    shutil.rmtree(repaired, ignore_errors=True)
    job.run(
        f"auditwheel repair --plat {tag}",
        [auditwheel, "repair", "--plat", tag, "--strip", "-w", repaired, one_wheel(raw)],
        env=environ(PATH=f"{tools / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"),
    )
    wheel = one_wheel(repaired)
    again = platform_tag(job, "auditwheel show (repaired)", auditwheel, wheel)
    with zipfile.ZipFile(wheel) as zf:
        grafted = [n for n in zf.namelist() if n.startswith("queen_turbo.libs/")]
    job.check(
        f"{wheel.name} tagged {tag}, nothing grafted",
        ([] if again == tag and tag in wheel.name else [f"repaired wheel reports {again}"])
        + [f"grafted library {n}: the extensions should need only libc" for n in grafted],
    )
    shutil.copy2(wheel, dist / wheel.name)
    wheel = dist / wheel.name
    venv = fresh_venv(job, python)
    install(job, venv, wheel)
    verify(job, venv, "compiled", wheel)
    return wheel


def platform_tag(job: Job, step: str, auditwheel: Path, wheel: Path) -> str:
    out = job.run(step, [auditwheel, "show", wheel])
    match = re.search(r'consistent with the\s+following platform tag:\s+"([^"]+)"', out)
    if not match or not match.group(1).startswith("manylinux_"):
        raise StepFailed(job.name, f"{step}: no manylinux tag", job.log, out)
    return match.group(1)


def pure_wheel(python: Path, tools: Path, sdist: Path, dist: Path) -> Path:
    job = Job("pure")
    raw = WORK / "raw" / job.name
    shutil.rmtree(raw, ignore_errors=True)
    job.run(
        "QUEEN_NO_EXTENSIONS=1 wheel from the sdist",
        [venv_python(tools), "-m", "pip", "wheel", "-q", "--no-cache-dir", "--no-deps",
         "-w", raw, sdist],
        env=environ(QUEEN_NO_EXTENSIONS="1"),
    )
    wheel = dist / one_wheel(raw).name
    shutil.copy2(one_wheel(raw), wheel)
    venv = fresh_venv(job, python)
    install(job, venv, wheel)
    verify(job, venv, "pure", wheel)
    return wheel


def sdist_install(python: Path, sdist: Path) -> None:
    job = Job("sdist-install")
    venv = fresh_venv(job, python)
    # No cache: pip must compile this sdist now, not reuse a wheel it built from it before.
    install(job, venv, sdist, "--no-cache-dir", env=environ(QUEEN_REQUIRE_EXTENSIONS="1"))
    verify(job, venv, "compiled")


def no_compiler(tools: Path, sdist: Path) -> None:
    job = Job("no-compiler")
    raw = WORK / "raw" / job.name
    shutil.rmtree(raw, ignore_errors=True)
    missing = str(WORK / "no-such-cc")
    build = [venv_python(tools), "-m", "pip", "wheel", "--no-cache-dir", "--no-deps", "-w", raw,
             sdist]
    job.run("wheel with no C compiler", build, env=environ(CC=missing))
    job.check("it is the pure wheel", wheel_problems(one_wheel(raw), "pure"))
    out = job.run(
        "QUEEN_REQUIRE_EXTENSIONS=1 wheel with no C compiler",
        build,
        env=environ(CC=missing, QUEEN_REQUIRE_EXTENSIONS="1"),
        expect_failure=True,
    )
    said = "QUEEN_REQUIRE_EXTENSIONS=1 but no C compiler was found" in out
    job.check("it names the missing compiler", [] if said else ["no such error in the output"])


def twine_check(tools: Path, artifacts: List[Path]) -> None:
    Job("twine").run(
        f"twine check --strict ({len(artifacts)} artifacts)",
        [tools / "bin" / "twine", "check", "--strict", *artifacts],
    )


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", nargs="+", default=list(VERSIONS), metavar="3.X",
                        choices=VERSIONS, help="CPython versions to build for (default: all)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output directory")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel jobs")
    args = parser.parse_args(argv)
    started = time.monotonic()
    versions = sorted(set(args.python), key=VERSIONS.index)
    pythons = {v: find_python(v) for v in versions}
    dist = args.dist.resolve()
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.glob("queen_turbo-*"):
        old.unlink()
    say(f"wheels: CPython {', '.join(versions)}; {args.jobs} jobs; logs in {WORK / 'logs'}")

    try:
        tools = tools_venv()
        check_config(tools)
        sdist = build_sdist(tools, dist)
    except StepFailed as failure:
        say(failure.report())
        say("wheels: 0 passed, 1 failed")
        return 1

    oldest, newest = pythons[versions[0]], pythons[versions[-1]]
    work: List[Tuple[str, Callable[[], object]]] = [
        (cp_tag(v), lambda v=v: compiled_wheel(v, tools, sdist, dist)) for v in versions
    ]
    work += [
        ("sdist-install", lambda: sdist_install(newest, sdist)),
        ("pure", lambda: pure_wheel(oldest, tools, sdist, dist)),
        ("no-compiler", lambda: no_compiler(tools, sdist)),
    ]
    failures: List[str] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(name, pool.submit(fn)) for name, fn in work]
        for name, future in futures:
            try:
                future.result()
            except StepFailed as failure:
                failures.append(failure.report())
            except Exception as error:  # a bug here, not a failed check: say which job
                failures.append(f"\n===== FAILED [{name}]: {error!r} =====\n")
    artifacts = sorted(dist.glob("queen_turbo-*"))
    try:
        twine_check(tools, artifacts)
    except StepFailed as failure:
        failures.append(failure.report())

    for report in failures:
        say(report)
    say("artifacts:")
    for path in artifacts:
        say(f"  {path.name}  ({path.stat().st_size // 1024} KiB)")
    verdict = "every artifact built and verified" if not failures else "FAILED (reports above)"
    say(f"wheels: {verdict} in {time.monotonic() - started:.0f} s")
    # The closing line in the form CI reads: one per job (and the twine check).
    say(f"wheels: {len(work) + 1 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
