"""Checks of the user's own files before deploy: RLVR reward modules and RLAIF judge prompts.

One check per kind of file, shared by spec validation (``validate``, ``notebook``, ``app.py``), the constructs
at synth (``RewardFunction``, ``JudgePrompt``) and ``cdk-finetune reward test``. A check never raises: it
returns :class:`Problem` s, each rendered as one line naming the file and, where known, the line.
``reward`` proves a reward module in a Lambda-like interpreter (``probe.py``, standard library only),
``requirements`` installs a module's pure-Python requirements for the Lambda, ``prompt`` checks a judge
prompt, ``files`` holds what they share.
"""

from .files import Problem, UserFileError, read_rows
from .prompt import check_judge_prompt
from .requirements import install_requirements
from .reward import RewardCheck, check_reward_code, lambda_dependencies

__all__ = [
    "Problem",
    "RewardCheck",
    "UserFileError",
    "check_judge_prompt",
    "check_reward_code",
    "install_requirements",
    "lambda_dependencies",
    "read_rows",
]
