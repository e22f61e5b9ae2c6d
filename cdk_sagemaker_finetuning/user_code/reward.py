"""The reward module check: UTF-8, compile, then import and score in a Lambda-like interpreter.

``probe.py`` runs in a separate ``python -I -S -B`` that sees only the standard library, boto3 (and its
dependency closure) and the reward runtime, exactly what the reward Lambda has; the Lambda's own loader
(``module_config``) and ``score_sample`` run there. Results are cached per file content within a process, so
synthesizing many projects spawns one interpreter per distinct module.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import Problem, not_utf8

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REWARD_RUNTIME = PACKAGE_DIR / "runtime" / "reward"
PROBE = Path(__file__).resolve().parent / "probe.py"
#: The Lambda's init phase (importing the module) is limited to 10 seconds.
IMPORT_SECONDS = 10.0
#: Scoring every sample row: the reward Lambda's default timeout for one batch.
SCORING_SECONDS = 60.0
#: At most this many failing sample rows are listed (then a count of the rest).
SHOWN_SAMPLE_PROBLEMS = 5
LAMBDA_PACKAGES = "boto3"
LAMBDA_HAS = (
    "it has only the Python standard library, boto3 and the reward runtime "
    "(the module is packaged alone; list pure-Python packages in reward.requirements)"
)
LAMBDA_HAS_REQUIREMENTS = (
    "it has only the Python standard library, boto3, the reward runtime and the requirements"
)
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class RewardCheck:
    """What the check found: module-level ``problems``, and per sample row the probe's result.

    Each ``rows`` entry has the handler's ``entry`` (``{id, aggregate_reward_score, metrics_list}``), ``ms``
    and ``problem`` (None, or what is wrong with what ``reward`` returned).
    """

    problems: tuple[Problem, ...] = ()
    rows: tuple[dict[str, Any], ...] = ()
    score_range: tuple[float, float] = (-1.0, 1.0)

    def sample_message(self, index: int) -> str | None:
        """What is wrong with sample row ``index``, as a sentence (None when it scored fine)."""
        return describe_sample_problem(self.rows[index]["problem"], self.score_range)

    def sample_problems(self, limit: int = SHOWN_SAMPLE_PROBLEMS) -> tuple[list[tuple[int, str | None]], int]:
        """``([(row index, message)] for the first ``limit`` failing rows, how many more failed)``."""
        failing = [(i, self.sample_message(i)) for i, row in enumerate(self.rows) if row["problem"]]
        return failing[:limit], max(0, len(failing) - limit)


def describe_sample_problem(problem: dict[str, Any] | None, score_range: Sequence[float]) -> str | None:
    """One sentence for a probe's verdict on one sample (None when the sample is fine)."""
    if problem is None:
        return None
    kind = problem["kind"]
    if kind == "raised":
        at = f" (line {problem['line']})" if problem.get("line") else ""
        return f"reward raised {problem['error']}{at}"
    if kind == "not_object":
        return "the row is not a JSON object"
    if kind == "not_number":
        return (
            f"reward returned {problem['value']} ({problem['error']}); it must return a number or "
            "{'score': number, 'metrics': {name: number}}"
        )
    low, high = score_range
    return f"reward returned score {problem['score']:g}, outside score_range [{low:g}, {high:g}]"


def _module_problem(problem: dict[str, Any], requirements: bool) -> Problem:
    kind, line = problem["kind"], problem.get("line")
    if kind == "missing_module":
        has = LAMBDA_HAS_REQUIREMENTS if requirements else LAMBDA_HAS
        return Problem(f"imports {problem['module']!r}, which the Lambda cannot import: {has}", line)
    if kind == "raised":
        return Problem(f"cannot import it: {problem['error']}", line)
    if kind == "no_reward":
        return Problem("defines no reward(sample) function; the Lambda calls reward(sample) for each sample")
    if kind == "not_callable":
        return Problem(f"'reward' is not a function but a {problem['type']}; define def reward(sample): ...")
    return Problem(
        f"{problem['signature']} cannot be called with one sample; the Lambda calls reward(sample)", line
    )


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=1)
def lambda_dependencies() -> tuple[tuple[str, Path], ...]:
    """``(top-level module, location)`` of boto3 and its dependency closure (what the Lambda runtime has).

    The closure comes from the installed distributions' metadata (extras are left out).
    """
    seen: dict[str, importlib.metadata.Distribution] = {}
    queue = [LAMBDA_PACKAGES]
    while queue:
        name = _normalize(queue.pop())
        if name in seen:
            continue
        try:
            seen[name] = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in seen[name].requires or []:
            match = _REQUIREMENT_NAME.match(requirement)
            if match and not re.search(r"\bextra\s*==", requirement):
                queue.append(match.group(0))
    found = []
    for _, distribution in sorted(seen.items()):
        for top in sorted(_top_levels(distribution)):
            for candidate in (Path(str(distribution.locate_file(path))) for path in (top, f"{top}.py")):
                if candidate.exists():
                    found.append((candidate.name, candidate))
                    break
    return tuple(found)


def _top_levels(distribution: importlib.metadata.Distribution) -> set[str]:
    """The distribution's top-level modules, found as ``importlib.metadata.packages_distributions`` finds them
    (which reads the metadata of every installed distribution: 0.15 s in this project's environment)."""
    declared = (distribution.read_text("top_level.txt") or "").split()
    return set(declared) or {
        file.parts[0] if len(file.parts) > 1 else file.with_suffix("").name
        for file in distribution.files or ()
        if file.suffix == ".py"
    }


_cache: dict[tuple[Any, ...], RewardCheck] = {}
#: Module-level verdict per source (and time limit), whichever rows it was checked with.
_modules: dict[tuple[Any, ...], tuple[Problem, ...]] = {}


def check_reward_code(
    path: str | Path,
    *,
    score_range: Sequence[float] = (-1.0, 1.0),
    rows: Sequence[Any] | None = None,
    requirements: Path | None = None,
) -> RewardCheck:
    """Prove the reward module at ``path`` loads in the Lambda and, given ``rows``, scores each in range.

    ``requirements`` is a directory of packages bundled next to the module (``install_requirements``).
    """
    low, high = (float(v) for v in score_range)
    try:
        source = Path(path).read_bytes()
    except OSError as exc:
        return RewardCheck((Problem(f"cannot be read: {exc.strerror or exc}"),), score_range=(low, high))
    extra = str(requirements) if requirements else None
    request = json.dumps({"score_range": [low, high], "rows": list(rows or []), "path": extra}, default=str)
    module_key = (hashlib.sha256(source).hexdigest(), extra, IMPORT_SECONDS)
    if not rows and module_key in _modules:
        return RewardCheck(_modules[module_key], score_range=(low, high))
    key = (*module_key, hashlib.sha256(request.encode()).hexdigest(), SCORING_SECONDS)
    if key not in _cache:
        _cache[key] = _check_source(source, request, (low, high))
        if not _cache[key].problems or not rows:  # a scoring time-out says nothing about the module
            _modules[module_key] = _cache[key].problems
    return _cache[key]


def _check_source(source: bytes, request: str, score_range: tuple[float, float]) -> RewardCheck:
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return RewardCheck((not_utf8(source, exc, "module"),), score_range=score_range)
    try:
        compile(text, "user_reward.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        message = f"{type(exc).__name__}: {exc.msg} (Python cannot compile the module)"
        return RewardCheck((Problem(message, exc.lineno, exc.offset),), score_range=score_range)
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:  # null bytes, absurd nesting
        message = f"{type(exc).__name__}: {exc} (Python cannot compile the module)"
        return RewardCheck((Problem(message),), score_range=score_range)
    with tempfile.TemporaryDirectory(prefix="cdk-sm-ft-reward-check-") as tmp:
        return _probe(Path(tmp), source, request, score_range)


def _probe(root: Path, source: bytes, request: str, score_range: tuple[float, float]) -> RewardCheck:
    """Run ``probe.py`` on a Lambda-like code directory under ``root`` and read its verdict."""
    task, deps = root / "task", root / "deps"
    task.mkdir()
    deps.mkdir()
    (task / "reward_runtime").symlink_to(REWARD_RUNTIME, target_is_directory=True)
    (task / "user_reward.py").write_bytes(source)
    for name, location in lambda_dependencies():
        (deps / name).symlink_to(location, target_is_directory=location.is_dir())
    (root / "request.json").write_text(request, encoding="utf-8")
    result = root / "result.json"
    stage, returncode = _run_probe(root, task, deps, result)
    rows = len(json.loads(request)["rows"])
    if stage == "import":
        message = (
            f"importing it took longer than {IMPORT_SECONDS:g} s (an endless loop at import?); "
            "the Lambda's init phase is limited to 10 s"
        )
        return RewardCheck((Problem(message),), score_range=score_range)
    if stage == "scoring":
        message = f"scoring {rows} sample row(s) took longer than {SCORING_SECONDS:g} s (an endless loop?)"
        return RewardCheck((Problem(message),), score_range=score_range)
    try:
        answer = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        lines = (root / "stderr").read_text(encoding="utf-8", errors="replace").strip().splitlines()
        last = f": {lines[-1][:200]}" if lines else ""
        message = f"the interpreter importing it exited with code {returncode}{last}"
        return RewardCheck((Problem(message),), score_range=score_range)
    if "problem" in answer:
        problem = _module_problem(answer["problem"], requirements=bool(json.loads(request)["path"]))
        return RewardCheck((problem,), score_range=score_range)
    return RewardCheck(rows=tuple(answer["rows"]), score_range=score_range)


def _run_probe(root: Path, task: Path, deps: Path, result: Path) -> tuple[str | None, int | None]:
    """Run ``probe.py`` in an isolated interpreter: the stage that ran out of time (:func:`_wait`), the exit code."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    env = {  # what a Lambda sets, and no credentials: the check never calls AWS
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = [
        sys.executable,
        "-I",  # isolated: no PYTHON* variables, no user site, not the script's folder
        "-S",  # no site-packages: only the paths the probe adds
        "-B",  # never write bytecode into the package (it may be read-only, and it is packaged)
        str(PROBE),
        str(task),
        str(deps),
        str(root / "request.json"),
        str(result),
    ]
    with open(root / "stderr", "wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=task,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        stage = _wait(process, Path(f"{result}.imported"))
    return stage, process.returncode


def _wait(process: subprocess.Popen[bytes], imported: Path) -> str | None:
    """Wait for the probe; kill it and return the stage (``import``/``scoring``) that ran out of time."""
    stage, limit, started = "import", IMPORT_SECONDS, time.monotonic()
    while True:
        try:
            process.wait(timeout=0.05)
            return None
        except subprocess.TimeoutExpired:
            pass
        if stage == "import" and imported.exists():
            stage, limit, started = "scoring", SCORING_SECONDS, time.monotonic()
        if time.monotonic() - started > limit:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return stage
