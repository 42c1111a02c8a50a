"""Which twin is live: QUEEN_REQUIRE_EXTENSIONS=1 demands the compiled ones (cibuildwheel runs
this on the installed wheel, so a wheel that silently fell back fails); QUEEN_NO_EXTENSIONS=1
picks the pure ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import queen._speedups as speedups

PROBE = "import json, queen._speedups as s; print(json.dumps(s.IMPLEMENTATIONS))"


def _implementations(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QUEEN_")}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=environ, check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout))


def test_every_component_is_reported() -> None:
    assert set(speedups.IMPLEMENTATIONS) == set(speedups.COMPONENTS)
    assert set(speedups.IMPLEMENTATIONS.values()) <= {"compiled", "pure"}


@pytest.mark.skipif(
    os.environ.get("QUEEN_REQUIRE_EXTENSIONS") != "1", reason="QUEEN_REQUIRE_EXTENSIONS unset"
)
def test_required_extensions_are_live() -> None:
    assert {c: "compiled" for c in speedups.COMPONENTS} == speedups.IMPLEMENTATIONS
    for component in speedups.COMPONENTS:
        speedups.load(component, "compiled")


def test_no_extensions_selects_pure() -> None:
    assert _implementations(QUEEN_NO_EXTENSIONS="1") == {c: "pure" for c in speedups.COMPONENTS}


def test_selected_names_come_from_the_live_twin() -> None:
    for component, impl in speedups.IMPLEMENTATIONS.items():
        module = speedups.load(component, impl)
        for name in module.__all__:
            if hasattr(speedups, name):
                assert getattr(speedups, name) is getattr(module, name)


def test_default_prefers_compiled_when_built() -> None:
    expected = {}
    for component in speedups.COMPONENTS:
        try:
            speedups.load(component, "compiled")
            expected[component] = "compiled"
        except ImportError:
            expected[component] = "pure"
    assert _implementations() == expected
