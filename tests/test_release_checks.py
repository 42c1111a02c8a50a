"""The release checks of .ci/: what makes a wheel's contents wrong (.ci/verify_install.py) and
when the version, the changelog and a release tag disagree (.ci/release_check.py).

The artifacts themselves are built and checked by .ci/wheels.py; these tests pin down that the
checks it relies on reject what they must.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Iterable, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / ".ci"))

import release_check
from verify_install import wheel_problems

COMPILED = "queen_turbo-1.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
PURE = "queen_turbo-1.0.0-py3-none-any.whl"
PACKAGE = [
    "queen/__init__.py",
    "queen/py.typed",
    "queen/testing/__init__.py",
    "queen/_speedups/__init__.py",
    "queen/_speedups/_ring_c.pyx",
    "queen/_speedups/_ring_py.py",
    "queen/_speedups/_codec_c.pyx",
    "queen/_speedups/_codec_py.py",
    "queen/_speedups/_items_body.pxd",
    "queen_turbo-1.0.0.dist-info/METADATA",
    "queen_turbo-1.0.0.dist-info/licenses/LICENSE",
    "queen_turbo-1.0.0.dist-info/RECORD",
]
BINARIES = [
    "queen/_speedups/_ring_c.cpython-312-x86_64-linux-gnu.so",
    "queen/_speedups/_codec_c.cpython-312-x86_64-linux-gnu.so",
]


def _wheel(tmp_path: Path, name: str, files: Iterable[str]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for file in files:
            zf.writestr(file, b"")
    return path


def _problems(tmp_path: Path, name: str, files: Iterable[str], expect: str) -> List[str]:
    return wheel_problems(_wheel(tmp_path, name, files), expect)


def test_a_complete_compiled_wheel_passes(tmp_path: Path) -> None:
    assert _problems(tmp_path, COMPILED, PACKAGE + BINARIES, "compiled") == []


def test_a_complete_pure_wheel_passes(tmp_path: Path) -> None:
    assert _problems(tmp_path, PURE, PACKAGE, "pure") == []


def test_windows_may_graft_the_c_runtime(tmp_path: Path) -> None:
    name = "queen_turbo-1.0.0-cp312-cp312-win_amd64.whl"
    files = [*PACKAGE, *(b.replace("cpython-312-x86_64-linux-gnu.so", "cp312-win_amd64.pyd")
                         for b in BINARIES), "queen_turbo.libs/vcruntime140-1a2b.dll"]
    assert _problems(tmp_path, name, files, "compiled") == []


@pytest.mark.parametrize(
    "extra",
    [
        "tests/test_push.py",
        "queen/tests/test_push.py",
        "queen/conftest.py",
        "queen/_speedups/test_ring.py",
        "bench/run.py",
    ],
)
def test_test_files_and_strays_are_rejected(tmp_path: Path, extra: str) -> None:
    (problem,) = _problems(tmp_path, COMPILED, [*PACKAGE, *BINARIES, extra], "compiled")
    assert problem.startswith(extra)


@pytest.mark.parametrize(
    "extra", ["queen/_speedups/_ring_c.c", "queen/_speedups/_ring_c.html", "queen/x.h"]
)
def test_c_intermediates_are_rejected(tmp_path: Path, extra: str) -> None:
    (problem,) = _problems(tmp_path, COMPILED, [*PACKAGE, *BINARIES, extra], "compiled")
    assert problem == f"{extra}: a build intermediate"


def test_py_typed_and_the_license_are_required(tmp_path: Path) -> None:
    files = [f for f in PACKAGE if not f.endswith(("py.typed", "LICENSE"))] + BINARIES
    assert _problems(tmp_path, COMPILED, files, "compiled") == [
        "queen/py.typed: missing",
        "*.dist-info/licenses/: no license file",
    ]


def test_every_pyx_needs_its_compiled_module(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, COMPILED, PACKAGE + BINARIES[:1], "compiled")
    assert problem == "compiled modules ['_ring_c'] != .pyx sources ['_codec_c', '_ring_c']"


def test_the_pure_wheel_holds_no_compiled_module(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, PURE, PACKAGE + BINARIES[:1], "pure")
    assert problem == "compiled modules in the pure wheel: ['_ring_c']"


def test_tags_must_match_what_was_built(tmp_path: Path) -> None:
    assert _problems(tmp_path, PURE, PACKAGE + BINARIES, "compiled") == [
        f"{PURE}: a compiled wheel must carry a platform tag"
    ]
    assert _problems(tmp_path, COMPILED, PACKAGE, "pure") == [
        f"{COMPILED}: the pure wheel must be tagged py3-none-any"
    ]


CHANGELOG = """# Changelog

## [1.1.0] - Unreleased

- next

## [1.0.0] - 2026-12-01

- first
"""


def test_the_version_needs_a_changelog_entry() -> None:
    assert release_check.problems("1.1.0", CHANGELOG) == []
    assert release_check.problems("1.0.0", CHANGELOG) == []
    assert release_check.problems("1.2.0", CHANGELOG) == [
        "CHANGELOG.md has no '## [1.2.0] - <date>' entry for 1.2.0"
    ]
    # 1.1.0 must not match 1.1.00 or 1x1x0: the version is matched literally.
    assert release_check.problems("1.1.00", CHANGELOG) != []
    assert release_check.problems("1x1x0", CHANGELOG) != []


def test_a_release_tag_names_the_version_and_its_entry_is_dated() -> None:
    assert release_check.problems("1.0.0", CHANGELOG, tag="v1.0.0") == []
    assert release_check.problems("1.0.0", CHANGELOG, tag="v1.0.1") == [
        "tag v1.0.1 does not name the version 1.0.0 (expected v1.0.0)"
    ]
    assert release_check.problems("1.1.0", CHANGELOG, tag="v1.1.0") == [
        "CHANGELOG.md's entry for 1.1.0 is not dated: ## [1.1.0] - Unreleased"
    ]


def test_this_checkout_agrees_with_itself() -> None:
    assert release_check.check() == []
