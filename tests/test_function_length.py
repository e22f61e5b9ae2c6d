"""No function of the package is over 60 lines (``def`` to its last line, docstring included): split by
responsibility instead."""

from __future__ import annotations

import ast

from tests.conftest import REPO

PACKAGE = REPO / "cdk_sagemaker_finetuning"
LIMIT = 60


def long_functions() -> dict[str, int]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LIMIT:
                    found[f"{path.relative_to(PACKAGE)}:{node.name}"] = lines
    return found


def test_no_function_is_over_the_limit():
    too_long = long_functions()
    assert too_long == {}, f"split these functions (over {LIMIT} lines): {too_long}"
