"""The README's code blocks work as written.

Marks (the fence's info string): ```bash offline runs, in README order, in one copy of the project with
``source .venv/bin/activate`` first (what the README tells the reader to do after ``make synth``);
```bash aws needs credentials and ```bash setup is a make/pip set-up step (neither runs here); every shell
block must carry one of the three. ```python offline runs as a script in the same copy; other Python blocks
are construct fragments (they use ``self`` and the reader's own objects): they must compile and their imports
must resolve.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
SHELLS = {"bash", "sh", "shell", "console", "zsh"}
SHELL_MARKS = {"offline", "aws", "setup"}
#: What the copy holds: what a reader's clone holds, minus the tests and the generated folders.
COPIED = ("app.py", "cdk.json", "package.json", "pyproject.toml", "cdk_sagemaker_finetuning", "examples")
FENCE = re.compile(r"^```(\S*)(?:[ \t]+(.*))?$")


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    marks: frozenset[str]
    code: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def blocks() -> list[Block]:
    found, current, start, lines = [], None, 0, []
    for number, text in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(text)
        if current is None and match:
            current, start, lines = match, number, []
        elif current is not None and text.strip() == "```":
            marks = frozenset((current.group(2) or "").split())
            found.append(Block(start, current.group(1).lower(), marks, "\n".join(lines) + "\n"))
            current = None
        elif current is not None:
            lines.append(text)
    return found


BLOCKS = blocks()
OFFLINE_SHELL = [b for b in BLOCKS if b.language in SHELLS and "offline" in b.marks]
OFFLINE_PYTHON = [b for b in BLOCKS if b.language == "python" and "offline" in b.marks]
FRAGMENTS = [b for b in BLOCKS if b.language == "python" and "offline" not in b.marks]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with this test run's venv and node_modules linked in, as after ``make synth``."""
    root = tmp_path_factory.mktemp("readme") / "project"
    root.mkdir()
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to(Path(sys.prefix))
    (root / "node_modules").symlink_to(REPO / "node_modules")
    return root


def environment() -> dict[str, str]:
    """A reader's shell: no jsii settings, no telemetry switch (cdk.json and the code must keep it quiet)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JSII_", "CDK_", "VIRTUAL_ENV"))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def test_the_readme_has_tested_blocks() -> None:
    assert len(OFFLINE_SHELL) >= 7 and len(OFFLINE_PYTHON) >= 2 and len(FRAGMENTS) >= 8


def test_every_shell_block_says_whether_it_runs_offline() -> None:
    unmarked = [b.id for b in BLOCKS if b.language in SHELLS and not b.marks & SHELL_MARKS]
    assert unmarked == [], f"mark these shell blocks ```bash offline | aws | setup: {unmarked}"


def test_offline_blocks_use_the_documented_entry_points() -> None:
    """Commands go through the activated venv: `cdk-finetune`, `npx cdk`, `python`; never a bare `cdk`."""
    for block in OFFLINE_SHELL:
        for line in block.code.splitlines():
            assert not re.match(r"^\s*cdk\s", line), f"{block.id}: use `npx cdk` ({line.strip()})"


@pytest.mark.parametrize("block", OFFLINE_SHELL, ids=lambda b: b.id)
def test_offline_shell_block_runs_as_written(block: Block, project: Path) -> None:
    script = f"set -eo pipefail\nsource .venv/bin/activate\n{block.code}"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, (
        f"{block.id}\n{block.code}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "!!" not in result.stderr and "feature flags" not in result.stderr, result.stderr


@pytest.mark.parametrize("block", OFFLINE_PYTHON, ids=lambda b: b.id)
def test_offline_python_block_runs(block: Block, project: Path) -> None:
    script = project / f"readme_{block.line}.py"
    script.write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), script.name],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{block.id}\n{block.code}\n{result.stderr[-3000:]}"
    assert result.stderr == ""


@pytest.mark.parametrize("block", FRAGMENTS, ids=lambda b: b.id)
def test_python_fragment_compiles_and_its_imports_resolve(block: Block) -> None:
    tree = ast.parse(block.code, filename=block.id)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), block.id, "exec"), namespace)  # noqa: S102
    for node in imports:
        for alias in node.names:
            assert (alias.asname or alias.name).split(".")[0] in namespace, f"{block.id}: {alias.name}"


# -- table of contents and diagrams -------------------------------------------------------------------------

MERMAID_EDGE = re.compile(
    r"^(\w+)(?:\[(\w+)\])?\s+(?:-->|-\.->|-- (?:\w+|\"[^\"]+\") -->|-\. \w+ \.->)\s+(\w+)(?:\[(\w+)\])?$"
)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_contents_link_every_top_level_section_in_order() -> None:
    text = README.read_text(encoding="utf-8")
    [contents] = [line for line in text.split("\n\n") if line.startswith("**Contents:**")]
    links = re.findall(r"\[([^\]]+)\]\(#([^)]+)\)", contents)
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert [title for title, _ in links] == headings
    assert [target for _, target in links] == [anchor(h) for h in headings]


def test_the_architecture_diagram_names_exactly_the_constructs() -> None:
    import constructs

    import cdk_sagemaker_finetuning.constructs as ours

    [diagram] = [b for b in BLOCKS if b.language == "mermaid" and b.code.startswith("flowchart")]
    first, *edges = [line.strip() for line in diagram.code.splitlines() if line.strip()]
    assert first == "flowchart LR"
    labels: dict[str, str] = {}
    for line in edges:
        match = MERMAID_EDGE.match(line)
        assert match, f"not a flowchart edge this test understands: {line!r}"
        for node, label in (match.group(1, 2), match.group(3, 4)):
            if label is not None:
                assert labels.setdefault(node, label) == label, f"{node} has two labels"
    used = {node for line in edges for node in MERMAID_EDGE.match(line).group(1, 3)}
    assert used == set(labels), f"nodes without a label: {used - set(labels)}"
    public = {
        name
        for name in ours.__all__
        if isinstance(getattr(ours, name), type) and issubclass(getattr(ours, name), constructs.Construct)
    }
    assert set(labels.values()) == public | {"FineTuningStack"}


def test_the_workflow_diagrams_are_drawn_from_the_current_definition() -> None:
    from cdk_sagemaker_finetuning import workflow_diagram

    text = README.read_text(encoding="utf-8")
    start, end = text.find(workflow_diagram.BEGIN), text.find(workflow_diagram.END)
    assert 0 <= start < end, "the README lost the markers of the generated workflow diagrams"
    assert text[start : end + len(workflow_diagram.END)] == workflow_diagram.readme_section(), (
        "the README's workflow diagrams are out of date: run "
        "`python -m cdk_sagemaker_finetuning.workflow_diagram --write-readme` and commit README.md"
    )


def test_every_mermaid_block_parses_with_mermaid() -> None:
    """Mermaid's own parser (package.json) reads every diagram, and rejects a broken one."""
    diagrams = [b for b in BLOCKS if b.language == "mermaid"]
    assert len(diagrams) >= 3
    broken = "stateDiagram-v2\n  Preflight --> : catch\n"
    node = shutil.which("node")
    assert node and (REPO / "node_modules" / "mermaid").is_dir(), "run `make test` (npm ci installs mermaid)"
    result = subprocess.run(
        [node, str(REPO / "tests" / "mermaid_parse.mjs")],
        input=json.dumps([b.code for b in diagrams] + [broken]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    *errors, rejected = json.loads(result.stdout)
    assert {b.id: e for b, e in zip(diagrams, errors, strict=True) if e} == {}
    assert rejected and "Parse error" in rejected
