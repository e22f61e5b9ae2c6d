"""Read the integ app's deploy outputs (``cdk deploy --outputs-file``): exit 1 unless every assertion passed.

integ-tests-alpha reports each ``expect`` as an ``AssertionResults...`` stack output whose value is JSON
``{"status": "success"}`` or ``{"status": "fail", "message": ...}`` (waiters fail the deploy by themselves).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def failures(outputs: dict[str, dict[str, str]]) -> tuple[list[str], int]:
    """The failed assertions' ``name: message`` lines and the number of assertions found."""
    failed, found = [], 0
    for stack in outputs.values():
        for name, value in stack.items():
            if not name.startswith("AssertionResults"):
                continue
            found += 1
            try:
                result = json.loads(value)
            except ValueError:
                result = {"status": "fail", "message": value}
            if result.get("status") != "success":
                failed.append(f"{name}: {result.get('message', result)}")
    return failed, found


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("cdk.out.integ/outputs.json")
    try:
        outputs = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"integ: cannot read the deploy outputs {path}: {exc}", file=sys.stderr)
        return 1
    failed, found = failures(outputs)
    for line in failed:
        print(f"integ: assertion failed: {line}", file=sys.stderr)
    if not found:
        print(f"integ: no assertion results in {path}", file=sys.stderr)
        return 1
    print(f"integ: {found - len(failed)} of {found} assertions passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
