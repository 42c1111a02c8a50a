"""Which twin is live. In the default environment every component must be compiled (so a
build or an installed wheel that silently fell back to pure fails here); with
QUEEN_NO_EXTENSIONS=1 every component must be pure. Both switches are also checked in a fresh
interpreter, whatever this one was started with; under QUEEN_NO_EXTENSIONS=1 the package may
have been built without its extensions, so there the compiled twins are checked only where
they were built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict

import queen._speedups as speedups

PROBE = "import json, queen._speedups as s; print(json.dumps(s.IMPLEMENTATIONS))"
NO_EXTENSIONS = os.environ.get("QUEEN_NO_EXTENSIONS") == "1"
ALL_COMPILED = {c: "compiled" for c in speedups.COMPONENTS}
ALL_PURE = {c: "pure" for c in speedups.COMPONENTS}


def _implementations(**env: str) -> Dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QUEEN_")}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=environ, check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout))


def test_every_component_is_reported() -> None:
    assert set(speedups.IMPLEMENTATIONS) == set(speedups.COMPONENTS)
    assert set(speedups.IMPLEMENTATIONS.values()) <= {"compiled", "pure"}


def test_live_implementations_follow_the_switch() -> None:
    assert speedups.NO_EXTENSIONS is NO_EXTENSIONS
    assert (ALL_PURE if NO_EXTENSIONS else ALL_COMPILED) == speedups.IMPLEMENTATIONS


def _built(component: str) -> bool:
    try:
        speedups.load(component, "compiled")
    except ImportError:
        return False
    return True


def _default_choice() -> Dict[str, str]:
    # What a fresh interpreter without the switch must pick.
    if not NO_EXTENSIONS:
        return ALL_COMPILED
    return {c: "compiled" if _built(c) else "pure" for c in speedups.COMPONENTS}


def test_selected_names_come_from_the_live_twin() -> None:
    for component, impl in speedups.IMPLEMENTATIONS.items():
        module = speedups.load(component, impl)
        for name in module.__all__:
            assert getattr(speedups, name) is getattr(module, name)


def test_twins_export_the_same_names() -> None:
    for component, impl in _default_choice().items():
        pure = speedups.load(component, "pure")
        assert pure.__name__ == f"queen._speedups._{component}_py"
        if impl == "compiled":
            compiled = speedups.load(component, "compiled")
            assert compiled.__name__ == f"queen._speedups._{component}_c"
            assert sorted(compiled.__all__) == sorted(pure.__all__)


def test_no_extensions_selects_pure() -> None:
    assert _implementations(QUEEN_NO_EXTENSIONS="1") == ALL_PURE


def test_default_selects_compiled() -> None:
    assert _implementations() == _default_choice()
