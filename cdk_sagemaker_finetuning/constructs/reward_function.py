"""``RewardFunction``: the RLVR reward Lambda, from a built-in reward or the user's ``reward(sample)`` module.

The code asset is assembled at synth time from ``runtime/reward`` (as the package ``reward_runtime``), the
user's module (as ``user_reward.py``) and a one-line ``lambda_function.py`` entry point, plus the module's
pip-installed pure-Python requirements if any (local bundling), so no Docker is needed. The function has its
own role that can only write its own log group.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, Duration, ILocalBundling, Names, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..runtime.reward.builtins import BUILTIN_REWARDS, option_problems
from ..user_code import check_reward_code, install_requirements
from .asset_staging import package_files, stage_directory
from .errors import ConstructValidationError
from .runtime_function import ARCHITECTURE, RUNTIME

USER_MODULE = "user_reward"
ENTRY_POINT = "from reward_runtime.handler import lambda_handler  # noqa: F401\n"
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
NAME_PREFIX = "SageMaker-reward-"
DEFAULT_TIMEOUT = Duration.seconds(60)


def reward_code_directory(code: str | Path | None = None) -> Path:
    """The Lambda code directory: ``reward_runtime/``, ``lambda_function.py`` and the user module if any.

    The handler is ``lambda_function.lambda_handler`` (the SDK's convention), so the directory also passes
    ``verify_reward_function(<dir>/lambda_function.py, ...)`` with the directory on ``sys.path``.
    """
    files: dict[str, Path | str] = {
        **package_files("reward", as_name="reward_runtime"),
        "lambda_function.py": ENTRY_POINT,
    }
    if code is not None:
        files[f"{USER_MODULE}.py"] = Path(code)
    return stage_directory(files, prefix="cdk-sm-ft-reward")


@jsii.implements(ILocalBundling)
class _WithRequirements:
    """Local bundling: the code directory plus the installed requirements, copied into the asset (no Docker)."""

    def __init__(self, code: Path, requirements: Path) -> None:
        self.code = code
        self.requirements = requirements

    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        shutil.copytree(self.requirements, output_dir, dirs_exist_ok=True, symlinks=False)
        shutil.copytree(self.code, output_dir, dirs_exist_ok=True)  # ours win over a same-named package
        return True


def reward_code(code: str | Path | None, requirements: Path | None, runtime: lambda_.Runtime) -> lambda_.Code:
    """The Lambda code: :func:`reward_code_directory`, bundled locally with ``requirements`` when given."""
    directory = reward_code_directory(code)
    if requirements is None:
        return lambda_.Code.from_asset(str(directory))
    return lambda_.Code.from_asset(
        str(directory),
        asset_hash=f"{directory.name}-{requirements.name}",  # both names are content hashes
        bundling=BundlingOptions(
            image=runtime.bundling_image, local=_WithRequirements(directory, requirements)
        ),
    )


def reward_environment(
    *,
    builtin: str | None,
    options: Mapping[str, Any],
    score_range: Sequence[float],
    nova: bool,
    error_score: float | None = None,
) -> dict[str, str]:
    """The handler's environment variables (``runtime/reward/handler.py`` documents each one)."""
    env = {
        "REWARD_SCORE_RANGE": json.dumps([float(v) for v in score_range]),
        "REWARD_ENVELOPE": "nova" if nova else "open-weight",
    }
    if builtin is not None:
        env["REWARD_BUILTIN"] = builtin
        env["REWARD_OPTIONS"] = json.dumps(dict(options), sort_keys=True, separators=(",", ":"))
    else:
        env["REWARD_MODULE"] = USER_MODULE
    if error_score is not None:
        env["REWARD_ERROR_SCORE"] = repr(float(error_score))
    return env


class RewardFunction(Construct):
    """An RLVR reward Lambda answering the training job's batches (`RFT <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models-rft.html>`_).

    :param builtin: name of a built-in reward (``BUILTIN_REWARDS``). Exactly one of ``builtin`` and ``code``.
        Default: none.
    :param code: path of a Python module defining ``reward(sample) -> float | dict``; it is packaged next to
        the runtime as ``user_reward.py`` (it may import the standard library, boto3 and ``requirements``). At
        synth it is imported in an interpreter that has only what the Lambda has (``user_code.check_reward_code``).
        Default: none.
    :param requirements: with ``code``, a pip requirements file of pure-Python packages the module imports;
        installed at synth for the Lambda's platform and Python (``user_code.install_requirements``, no Docker)
        and bundled next to the module. Default: none.
    :param options: keyword options of the built-in, checked at synth time. Default: none.
    :param score_range: scores are clamped into ``[low, high]`` (built-ins are rescaled from [-1, 1]).
        Default: ``(-1.0, 1.0)``.
    :param error_score: score of a sample whose reward raises. Default: the low end of ``score_range``.
    :param nova: answer with Nova's bare list instead of the open-weight ``{statusCode, body}`` envelope.
        Default: False.
    :param function_name: must contain ``SageMaker`` (the managed customization policy and HyperPod only
        invoke such functions). Default: ``SageMaker-reward-<unique id>``.
    :param timeout: Default: 60 seconds (a batch of samples per invocation).
    :param memory_size: MB. Default: 512 (more memory also means more CPU).
    :param reserved_concurrency: reserved concurrent executions. Default: none (account pool).
    :param log_retention: Default: one month. The log group is retained when the stack is deleted.
    :param runtime: Default: Python 3.14.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        builtin: str | None = None,
        code: str | Path | None = None,
        requirements: str | Path | None = None,
        options: Mapping[str, Any] | None = None,
        score_range: Sequence[float] = (-1.0, 1.0),
        error_score: float | None = None,
        nova: bool = False,
        function_name: str | None = None,
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size: int = 512,
        reserved_concurrency: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        runtime: lambda_.Runtime = RUNTIME,
    ) -> None:
        super().__init__(scope, id)
        options = dict(options or {})
        bundled = self._check(
            builtin, code, requirements, options, score_range, error_score, memory_size, runtime
        )
        name = self._function_name(function_name)
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention, removal_policy=RemovalPolicy.RETAIN
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reward Lambda of a SageMaker fine-tuning project: writes its own logs only",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=f"RLVR reward ({builtin or 'user code'}) for SageMaker serverless fine-tuning",
            runtime=runtime,
            architecture=ARCHITECTURE,  # requirements are installed for manylinux2014_aarch64
            handler="lambda_function.lambda_handler",
            code=reward_code(code, bundled, runtime),
            environment=reward_environment(
                builtin=builtin, options=options, score_range=score_range, nova=nova, error_score=error_score
            ),
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            role=self.role,
            log_group=self.log_group,
        )
        self.function.node.add_dependency(self.role)
        self.function_arn = self.function.function_arn
        self.function_name = self.function.function_name

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke the function (and its versions/aliases), e.g. the training role."""
        return self.function.grant_invoke(grantee)

    def _function_name(self, function_name: str | None) -> str:
        """``function_name`` (checked), or a unique one with the ``SageMaker`` prefix."""
        name = function_name or NAME_PREFIX + Names.unique_resource_name(
            self, max_length=64 - len(NAME_PREFIX), separator="-"
        )
        if not Token.is_unresolved(name) and ("SageMaker" not in name or not FUNCTION_NAME_RE.match(name)):
            raise ConstructValidationError(
                f"function_name {name!r} must contain 'SageMaker' and be 1-64 letters, digits, '-' or '_'",
                self,
            )
        return name

    def _check(
        self,
        builtin: str | None,
        code: str | Path | None,
        requirements: str | Path | None,
        options: dict[str, Any],
        score_range: Sequence[float],
        error_score: float | None,
        memory_size: int,
        runtime: lambda_.Runtime,
    ) -> Path | None:
        """Raise for invalid props; return the directory of the installed requirements, if any."""
        if (builtin is None) == (code is None):
            raise ConstructValidationError("give exactly one of builtin and code", self)
        if builtin is not None:
            if builtin not in BUILTIN_REWARDS:
                raise ConstructValidationError(
                    f"builtin {builtin!r} is not a built-in reward; built-ins: {', '.join(BUILTIN_REWARDS)}",
                    self,
                )
            problems = option_problems(builtin, options)
            if problems:
                raise ConstructValidationError(
                    "; ".join(f"options.{key}: {message}" for key, message in problems), self
                )
        elif options:
            raise ConstructValidationError(
                "options only apply to a builtin reward; user code reads its own", self
            )
        if code is not None:
            path = Path(code)
            if path.suffix != ".py" or not path.is_file():
                raise ConstructValidationError(f"code {str(code)!r} must be an existing .py file", self)
        if (
            len(score_range) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in score_range)
            or not score_range[0] < score_range[1]
        ):
            raise ConstructValidationError(
                f"score_range {list(score_range)!r} must be finite [low, high], low < high", self
            )
        if error_score is not None and not math.isfinite(error_score):
            raise ConstructValidationError(f"error_score {error_score!r} must be finite", self)
        if not Token.is_unresolved(memory_size) and not 128 <= memory_size <= 10240:
            raise ConstructValidationError(f"memory_size {memory_size} must be 128-10240 MB", self)
        if requirements is not None and code is None:
            raise ConstructValidationError("requirements only apply to code", self)
        return self._install_and_check(code, requirements, score_range, runtime)

    def _install_and_check(
        self,
        code: str | Path | None,
        requirements: str | Path | None,
        score_range: Sequence[float],
        runtime: lambda_.Runtime,
    ) -> Path | None:
        """Install ``requirements`` for the Lambda's Python and run ``code`` on sample rows (synth-time checks)."""
        bundled = None
        if requirements is not None:
            version = runtime.name.removeprefix("python")
            bundled, problems = install_requirements(requirements, python_version=version)
            if problems:
                raise ConstructValidationError(
                    "requirements " + "; ".join(p.render(requirements) for p in problems), self
                )
        if code is not None:
            check = check_reward_code(code, score_range=score_range, requirements=bundled)
            if check.problems:
                raise ConstructValidationError(
                    "code " + "; ".join(p.render(code) for p in check.problems), self
                )
        return bundled
