"""The judge prompt check: a custom RLAIF ``.jinja`` prompt is UTF-8, bounded, valid Jinja, using only the
variables the service supplies and ``{{ response }}`` among them."""

from __future__ import annotations

from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from .files import Problem, not_utf8

#: A judge prompt is rendered into every judge call; the library's bound, not a service quota.
MAX_PROMPT_BYTES = 64 * 1024
PROMPT_VARIABLES = frozenset({"prompt", "response", "ground_truth"})


def check_judge_prompt(path: str | Path) -> list[Problem]:
    """Problems of a custom RLAIF judge prompt (``.jinja``): encoding, size, Jinja syntax, variables."""
    try:
        source = Path(path).read_bytes()
    except OSError as exc:
        return [Problem(f"cannot be read: {exc.strerror or exc}")]
    if len(source) > MAX_PROMPT_BYTES:
        return [
            Problem(f"is {len(source):,} bytes; a judge prompt may have at most {MAX_PROMPT_BYTES:,} bytes")
        ]
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [not_utf8(source, exc, "prompt")]
    environment = jinja2.Environment()
    try:
        template = environment.parse(text)
        environment.compile(template)  # unknown filters and tests fail here
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(f"Jinja syntax error: {exc.message}", exc.lineno)]
    problems = []
    used = meta.find_undeclared_variables(template)
    for name in sorted(used - PROMPT_VARIABLES):
        lines = [n.lineno for n in template.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
        problems.append(
            Problem(
                f"uses {{{{ {name} }}}}, which the service does not supply; a judge prompt may use only "
                "{{ prompt }}, {{ response }} and {{ ground_truth }}",
                min(lines, default=None),
            )
        )
    for node in template.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        problems.append(
            Problem("refers to another template; the service renders the prompt file alone", node.lineno)
        )
    if "response" not in used:
        problems.append(Problem("never uses {{ response }}: the judge could not see what it scores"))
    return problems
