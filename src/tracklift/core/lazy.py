"""Package exports that load their module on first use, so `import tracklift.<package>` stays cheap (no numba
compilation, no torch, no viewer) while `from tracklift.<package> import name` still works."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package`, each name of `names` taken from its module on first use
    (a name that is the package's own subpackage, `{"io": "pkg.io"}`, is that subpackage)."""

    def __getattr__(name: str) -> Any:
        if name in names:
            module = importlib.import_module(names[name])
            return module if module.__name__ == f"{package}.{name}" else getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__
