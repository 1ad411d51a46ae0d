"""The core modules import each other in one direction only: transport (sending) below tokens
(refresh) below http (ApiClient) below sync and services; reauth.py below all of them. A lazy
import inside a function is how a cycle hides, so none of them imports another lazily."""

import ast
from pathlib import Path

import pytest

CORE = ("transport", "classify", "tokens", "http", "reauth", "streams", "sync", "services",
        "auth", "pagination", "wire", "cursors", "outbound", "addresses", "actions")
PACKAGE = Path(__file__).resolve().parents[2] / "integrations"


def lazy_core_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                names = [inner.module or ""] + [alias.name for alias in inner.names]
                target = (inner.module or "").removeprefix("integrations.").lstrip(".")
                if target in CORE or any(name in CORE for name in names[1:] if not target):
                    found.append(f"{node.name}: from {'.' * inner.level}{inner.module or ''}")
    return found


@pytest.mark.parametrize("module", CORE)
def test_no_core_module_imports_another_lazily(module):
    assert lazy_core_imports(PACKAGE / f"{module}.py") == []


def test_the_check_sees_a_lazy_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\n\ndef f():\n    from .tokens import token_refresh\n")
    assert lazy_core_imports(sample) == ["f: from .tokens"]
