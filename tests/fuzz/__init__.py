"""Coverage-guided fuzz targets (atheris), run outside the suite; see README."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def run(
    one_input: Callable[[bytes], None],
    modules: Sequence[str],
    seed: Callable[[Path], None] | None = None,
) -> None:
    """A target's command line: ``--seed DIR`` writes its corpus (when it has one), anything
    else goes to atheris, with ``modules`` instrumented for coverage."""
    if seed is not None and len(sys.argv) == 3 and sys.argv[1] == "--seed":
        seed(Path(sys.argv[2]))
        return
    import atheris

    with atheris.instrument_imports():
        for name in modules:
            importlib.import_module(name)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
