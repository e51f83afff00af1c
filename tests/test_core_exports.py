"""Every package names its public surface: an `__all__` of a few names, each of which resolves (lazily loaded
ones too), and importing a package loads no heavy backend."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import tracklift

PACKAGES = sorted(m.name for m in pkgutil.iter_modules(tracklift.__path__, "tracklift.") if m.ispkg)


def test_every_room_is_a_package_with_exports():
    assert len(PACKAGES) >= 18


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_resolve(name):
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported and 1 <= len(exported) <= 8, f"{name} has no short __all__"
    for attr in exported:
        assert getattr(package, attr) is not None, f"{name}.{attr}"
    with pytest.raises(AttributeError):
        getattr(package, "no_such_name")


def test_importing_every_package_loads_no_heavy_backend():
    code = (
        "import sys, importlib\n"
        f"for name in {PACKAGES!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'viser', 'ray', 'rerun') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
