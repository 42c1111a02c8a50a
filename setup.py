"""Build script: the Cython speedups under queen/_speedups/.

QUEEN_NO_EXTENSIONS=1 builds nothing compiled (the pure py3-none-any wheel). Otherwise every
extension is compiled and a compiler error fails the build loudly. Only when no C compiler is
present at all does the build fall back to the pure package, with a warning, so that
`pip install .` still works on a machine without one; QUEEN_REQUIRE_EXTENSIONS=1 (set by
cibuildwheel) turns that fallback into an error too.
"""

import os
import sys

from setuptools import Extension, setup

SPEEDUPS = ["_ring", "_codec", "_batch", "_acks"]


def _have_compiler() -> bool:
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    if sys.platform == "win32":
        return True  # MSVC is located lazily; let the build report a missing one.
    import shutil

    cc = getattr(compiler, "compiler", None) or ["cc"]
    return shutil.which(cc[0]) is not None


def _extensions() -> list:
    if os.environ.get("QUEEN_NO_EXTENSIONS") == "1":
        return []
    if not _have_compiler():
        if os.environ.get("QUEEN_REQUIRE_EXTENSIONS") == "1":
            sys.exit("error: QUEEN_REQUIRE_EXTENSIONS=1 but no C compiler was found")
        sys.stderr.write(
            "WARNING: no C compiler found; building queen-turbo without its compiled speedups\n"
        )
        return []
    from Cython.Build import cythonize

    modules = [
        Extension(f"queen._speedups.{name}_c", [f"queen/_speedups/{name}_c.pyx"])
        for name in SPEEDUPS
        if os.path.exists(f"queen/_speedups/{name}_c.pyx")
    ]
    return cythonize(
        modules,
        language_level=3,
        compiler_directives={"embedsignature": True, "binding": False},
    )


setup(ext_modules=_extensions())
