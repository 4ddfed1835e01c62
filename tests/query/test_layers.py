"""The query package sits below search and index: it imports nothing from the layers above it
(cli -> api -> evidence -> search -> index -> models/query/cameras/timestamps/video -> primitives),
so the parser can be used, and tested, without an index."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import forensic.query

HIGHER = ("forensic.search", "forensic.index", "forensic.evidence", "forensic.cli", "forensic.api", "forensic.render")


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_query_package_imports_no_higher_layer():
    folder = Path(forensic.query.__file__).parent
    for path in sorted(folder.glob("*.py")):
        bad = {n for n in imports_of(path) if n.startswith(HIGHER)}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_the_query_package_loads_no_higher_layer():
    code = "import sys, forensic.query; print(' '.join(sorted(m for m in sys.modules if m.startswith('forensic.'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(forensic.query.__file__).parents[2])
    loaded = out.stdout.split()
    assert "forensic.query.parse" in loaded
    assert not [m for m in loaded if m.startswith(HIGHER)], loaded


def test_public_names():
    from forensic.query import CLASSES, PALETTE, Query, fold, parse_query

    assert fold("Xe Máy Đỏ") == "xe may do" and "motorcycle" in CLASSES and "red" in PALETTE
    assert isinstance(parse_query("red motorbike"), Query)
