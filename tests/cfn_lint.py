"""cfn-lint over synthesized templates, with cfn-lint's rule collection built once per test process.

``cfnlint.api.lint_file`` builds a new ``Runner`` per call, and so creates every rule again (the rules read their
JSON schemas from cfn-lint's package when created: about 0.4 CPU-s a call). cfn-lint's own CLI lints many templates
with one rule collection (each rule is configured and initialized per template), which is what this helper does.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from cfnlint.config import ConfigMixIn
from cfnlint.rules import Rules
from cfnlint.runner import Runner
from cfnlint.runner.template.runner import run_template_by_file_path

#: W3005 (a DependsOn already implied by a Ref/GetAtt) is how the CDK writes some dependencies.
IGNORED = ("W3005",)


@cache
def _rules() -> Rules:
    """cfn-lint's built-in rules, as ``lint_file`` loads them (no template, so no template-specific options)."""
    return Runner(ConfigMixIn([])).rules


def lint_errors(
    templates: Iterable[str | Path], *, regions: Iterable[str] = ("us-east-1",)
) -> dict[str, list[str]]:
    """The E-rule matches (as cfn-lint prints them) per template file name; empty when every template is clean.

    Each template is decoded and linted on its own, with its own configuration (``--template`` plus the regions and
    ``IGNORED``), exactly as ``lint_file`` would; only the rule collection is shared.
    """
    found: dict[str, list[str]] = {}
    for template in map(Path, templates):
        config = ConfigMixIn(
            ["--template", str(template)], ignore_checks=list(IGNORED), regions=list(regions)
        )
        matches = run_template_by_file_path(str(template), config, _rules(), ignore_bad_template=False)
        errors = [str(m) for m in matches if m.rule.id.startswith("E")]
        if errors:
            found[template.name] = errors
    return found
