"""Notebook and script helper: the SageMaker Python SDK v3 code that runs a spec's fine-tuning job interactively.

:func:`render_notebook` and :func:`render_script` turn a :class:`~.spec.FineTuningSpec` (plus, optionally, the
deployed stack's outputs) into a Jupyter notebook or a plain Python script that builds the same serverless
training job as the project's training workflow, with the SDK's ``SFTTrainer``, ``DPOTrainer``, ``RLVRTrainer``
or ``RLAIFTrainer``. The code comes from the jinja2 templates in ``code_templates/`` (one per technique, sharing
``base.py.j2``); cells are separated by ``# Cell: <label>`` / ``# Cell [markdown]: <label>`` lines. A spec with an
``evaluation`` block adds the cells of ``evaluation.py.j2``: the SDK's evaluators for the new model package, the
same jobs as ``cdk-finetune plan --evaluation``, and the gate's decision.

``outputs`` is what ``cdk deploy --outputs-file`` writes (``{stack name: {output key: value}}``) or one stack's
``{output key: value}``. Values a missing output would provide become ``"<fill in: ...>"`` placeholders that the
generated code refuses to run with; where the spec leaves a value open the SDK's default applies.

The templates read one :class:`~.notebook_context.Context` (``c``), built from the spec and the outputs.
"""

from __future__ import annotations

import functools
import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import nbformat

from . import files
from .notebook_context import LINE_LENGTH, Context, assign, py
from .spec import FineTuningSpec

TEMPLATE_DIR = Path(__file__).resolve().parent / "code_templates"

OUTPUT_KEYS = (
    "ExecutionRoleArn",
    "ModelPackageGroupName",
    "ModelPackageGroupArn",
    "TrainUri",
    "ValidationUri",
    "OutputUri",
    "EvaluatorArn",
    "StateMachineArn",
)

_CELL_RE = re.compile(
    r"^# Cell(?: \d+)?(?P<markdown> \[markdown\])?: (?P<label>.*?)(?P<only> # NOTEBOOK_ONLY_SECTION)?$"
)
_NOTEBOOK_ONLY = "# NOTEBOOK_ONLY"


@dataclass(frozen=True)
class Cell:
    kind: str  # "code" or "markdown"
    label: str
    source: str
    notebook_only: bool


# -- stack outputs --------------------------------------------------------------------------------------------


def stack_outputs(outputs: Mapping[str, Any] | None, spec: FineTuningSpec) -> dict[str, str]:
    """The spec's stack outputs from a whole ``--outputs-file`` document or from one stack's mapping."""
    if not outputs:
        return {}
    if not isinstance(outputs, Mapping):
        raise ValueError(f"stack outputs must be a JSON object, got {type(outputs).__name__}")
    if any(key in OUTPUT_KEYS for key in outputs):
        return _flat_outputs(outputs, "the outputs")
    stacks = {name: value for name, value in outputs.items() if isinstance(value, Mapping)}
    preferred = f"FineTuning-{spec.name}"
    if preferred in stacks:
        return _flat_outputs(stacks[preferred], preferred)
    prefix = spec.output_prefix  # a FineTuningProject in a platform stack prefixes its outputs
    for name, value in stacks.items():
        if isinstance(value.get(f"{prefix}Outputs"), str):  # FineTuningPlatform: one JSON output per project
            try:
                document = json.loads(value[f"{prefix}Outputs"])
            except json.JSONDecodeError as exc:
                raise ValueError(f"stack output {prefix}Outputs in {name} is not JSON: {exc}") from None
            if not isinstance(document, Mapping):
                raise ValueError(f"stack output {prefix}Outputs in {name} must be a JSON object")
            return _flat_outputs(document, f"{name}.{prefix}Outputs")
        if f"{prefix}ModelPackageGroupName" in value:
            return _flat_outputs(
                {k[len(prefix) :]: v for k, v in value.items() if k.startswith(prefix)}, name
            )
    matching = [
        name
        for name, value in stacks.items()
        if value.get("ModelPackageGroupName") == spec.model_package_group_name
    ]
    if len(matching) == 1:
        return _flat_outputs(stacks[matching[0]], matching[0])
    raise ValueError(
        f"cannot tell which stack's outputs belong to spec {spec.name!r}: expected a stack named {preferred!r} "
        f"or one whose ModelPackageGroupName is {spec.model_package_group_name!r}; found {sorted(stacks) or 'none'}"
    )


def _flat_outputs(values: Mapping[str, Any], where: str) -> dict[str, str]:
    result = {}
    for key in OUTPUT_KEYS:
        if key in values:
            if not isinstance(values[key], str) or not values[key]:
                raise ValueError(
                    f"stack output {key} in {where} must be a non-empty string, got {values[key]!r}"
                )
            result[key] = values[key]
    return result


def load_outputs(path: str | Path) -> dict[str, Any]:
    """Read a ``cdk deploy --outputs-file`` JSON document."""
    return files.read_json(path, "stack outputs")


# -- rendering ------------------------------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    """One environment per process, so each template is compiled once (they are package data: no reload)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["py"] = py
    env.filters["assign"] = assign
    return env


def template_name(spec: FineTuningSpec) -> str:
    """The technique template for ``spec``."""
    if spec.technique == "rlaif":
        return "rlaif_custom.py.j2" if spec.judge_prompt_path else "rlaif_builtin.py.j2"
    return f"{spec.technique}.py.j2"


def render_cells(
    spec: FineTuningSpec, outputs: Mapping[str, Any] | None = None, *, validate_role: bool = False
) -> list[Cell]:
    """Render the technique template and split it into cells.

    ``validate_role=False`` (the default, matching the construct's role, which lacks the EC2/ECR wildcard actions
    the SDK simulates) makes the code set ``SAGEMAKER_VALIDATE_ROLE=false``.
    """
    context = Context(spec, stack_outputs(outputs, spec), validate_role)
    text = _environment().get_template(template_name(spec)).render(c=context)
    return _split_cells(text)


def _split_cells(text: str) -> list[Cell]:
    cells: list[Cell] = []
    header: re.Match[str] | None = None
    lines: list[str] = []

    def close() -> None:
        if header is None:
            if "".join(lines).strip():
                raise ValueError("template text before the first '# Cell' marker")
            return
        source = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        if source.strip():
            kind = "markdown" if header["markdown"] else "code"
            cells.append(Cell(kind, header["label"], source, bool(header["only"])))

    for line in text.splitlines():
        match = _CELL_RE.match(line)
        if match:
            close()
            header, lines = match, []
        else:
            lines.append(line.rstrip())
    close()
    return cells


def render_notebook(
    spec: FineTuningSpec, outputs: Mapping[str, Any] | None = None, *, validate_role: bool = False
) -> nbformat.NotebookNode:
    """The spec's fine-tuning notebook (nbformat 4.4), validated with ``nbformat.validate``."""
    notebook = nbformat.v4.new_notebook()
    notebook.nbformat_minor = 4
    notebook.metadata = nbformat.NotebookNode(
        kernelspec={"display_name": "Python 3", "language": "python", "name": "python3"},
        language_info={"name": "python"},
    )
    # The cells of nbformat.v4.new_*_cell without their ids (those arrived with nbformat 4.5) and without their
    # per-cell schema check: the notebook is validated once, as a whole.
    for cell in render_cells(spec, outputs, validate_role=validate_role):
        node = nbformat.NotebookNode(
            cell_type=cell.kind, metadata=nbformat.NotebookNode(), source=cell.source
        )
        if cell.kind == "code":
            node.source = "\n".join(_strip_marker(line) for line in cell.source.splitlines())
            node.update(execution_count=None, outputs=[])
        notebook.cells.append(node)
    nbformat.validate(notebook)
    return notebook


def _strip_marker(line: str) -> str:
    return line[: -len(_NOTEBOOK_ONLY)].rstrip() if line.endswith(_NOTEBOOK_ONLY) else line


def render_script(
    spec: FineTuningSpec, outputs: Mapping[str, Any] | None = None, *, validate_role: bool = False
) -> str:
    """The spec's fine-tuning code as a plain Python script with ``# %%`` cell markers and a top docstring."""
    cells = [
        cell for cell in render_cells(spec, outputs, validate_role=validate_role) if not cell.notebook_only
    ]
    title, rest = cells[0], cells[1:]
    docstring = [
        *_wrap(title.source.splitlines(), LINE_LENGTH),
        "",
        "Install the SDK first (pip install 'sagemaker>=3.27,<4'), then run: python3 <this file>.",
    ]
    parts = ['"""' + "\n".join(docstring).replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\n"""']
    for cell in rest:
        if cell.kind == "markdown":
            body = [f"# {line}".rstrip() for line in _wrap(cell.source.splitlines(), LINE_LENGTH - 2)]
            parts.append(f"# %% [markdown] {cell.label}\n" + "\n".join(body))
            continue
        code = [line for line in cell.source.splitlines() if not line.endswith(_NOTEBOOK_ONLY)]
        code_text = "\n".join(code).strip("\n")
        if code_text.strip():
            parts.append(f"# %% {cell.label}\n{code_text}")
    return "\n\n".join(parts) + "\n"


def _wrap(lines: list[str], width: int) -> list[str]:
    """Reflow markdown paragraphs that have a line longer than ``width`` (list items stay items)."""
    result: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if any(len(line) > width for line in paragraph):
            items: list[list[str]] = []
            for line in paragraph:
                if not items or line.lstrip().startswith(("- ", "#", "|")):
                    items.append([line])
                else:
                    items[-1].append(line)
            for item in items:
                indent = " " * (len(item[0]) - len(item[0].lstrip()))
                hanging = indent + ("  " if item[0].lstrip().startswith("- ") else "")
                text = " ".join(line.strip() for line in item)
                result.extend(
                    textwrap.wrap(
                        text,
                        width,
                        initial_indent=indent,
                        subsequent_indent=hanging,
                        break_long_words=False,
                        break_on_hyphens=False,
                    )
                )
        else:
            result.extend(paragraph)
        paragraph.clear()

    for line in lines:
        if line.strip():
            paragraph.append(line)
        else:
            flush()
            result.append(line)
    flush()
    return result
