"""``cdk-finetune recommend``: pick SFT, DPO, RLVR or RLAIF from a few questions about the data and the task.

Criteria: `Customization techniques <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models-techniques.html>`_. Answers come from flags or, on a terminal, from questions (only the
ones still needed). The command recommends a technique with its reasons, never a model.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from . import _aws, _term

QUESTIONS = {
    "gold": "Do you have one correct, complete response for each input (gold responses)?",
    "verifiable": "Can code check a response (tests pass, numeric answer, constraints, reference match)?",
    "pairs": "Do you have preference pairs (a chosen and a rejected response per prompt)?",
    "subjective": "Is quality subjective (helpfulness, tone, brand voice, safety, summaries)?",
}
FLAGS = {
    "gold": "--gold-responses",
    "verifiable": "--verifiable",
    "pairs": "--preference-pairs",
    "subjective": "--subjective",
}


@dataclass
class Recommendation:
    technique: str | None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="recommend a technique (SFT, DPO, RLVR, RLAIF) for your data",
        description="Recommend a fine-tuning technique from a few questions about your data and task. "
        "Questions not answered by flags are asked on a terminal. It never recommends a model: list those "
        "with 'cdk-finetune models'.",
    )
    for key, flag in FLAGS.items():
        parser.add_argument(flag, dest=key, action=argparse.BooleanOptionalAction, help=QUESTIONS[key])
    parser.add_argument(
        "--baseline",
        type=float,
        metavar="PCT",
        help="base model's accuracy on your task today, 0-100 (optional)",
    )
    parser.set_defaults(handler=run)


class Answers:
    """Flag values, asking on a terminal for the ones still unknown when they are needed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def __getitem__(self, key: str) -> bool:
        value = getattr(self.args, key)
        if value is None:
            if not _term.interactive():
                raise _aws.CommandError(
                    f"Answer with {FLAGS[key]} or --no-{FLAGS[key][2:]}: {QUESTIONS[key]}", _aws.INVALID
                )
            value = _term.ask_yes_no(QUESTIONS[key])
            setattr(self.args, key, value)
        return value


def recommend(answers: Answers, baseline: float | None) -> Recommendation:
    """The decision of §5: verifiable or gold data first, then preferences, then a judge."""
    if baseline is not None and baseline > 95:
        note = f"The base model already scores {baseline:g}%: customization may be unnecessary."
        return Recommendation(None, [note])
    if answers["gold"]:
        verifiable = answers["verifiable"]
        if verifiable and baseline is not None and baseline > 0:
            return Recommendation(
                "rlvr",
                [
                    f"Responses can be verified and the base model already scores {baseline:g}%: RLVR "
                    "reinforces what it partly knows."
                ],
                ["SFT on the gold responses is the alternative if RLVR rewards stay flat."],
            )
        reasons = [
            "You have a correct response per input: SFT learns it directly (classification, "
            "extraction, structured generation)."
        ]
        if baseline == 0:
            reasons.append("The base model scores 0%: start with SFT.")
        notes = (
            ["Responses are also verifiable: an RLVR round on the SFT model can improve further."]
            if (verifiable)
            else []
        )
        return Recommendation("sft", reasons, notes)
    if answers["verifiable"]:
        return Recommendation(
            "rlvr",
            ["Code can check responses: RLVR rewards correct outputs without gold responses."],
            [
                "Write the reward with at least two anti-gaming checks; 'cdk-finetune init --technique rlvr' "
                "writes a stub with tests."
            ],
        )
    if answers["pairs"]:
        return Recommendation(
            "dpo",
            ["Several outputs are valid and you have chosen/rejected pairs: DPO learns the preference."],
            ["Keep both answers plausible with a clear preference and no length bias."],
        )
    if answers["subjective"]:
        return Recommendation(
            "rlaif",
            [
                "Quality is subjective and you have no gold responses or preference pairs: RLAIF lets a judge "
                "model score responses."
            ],
            ["The judge must be stronger than the model you train; pick it with --judge-model in init."],
        )
    return Recommendation(
        None,
        [
            "No technique fits yet: collect gold responses (SFT), preference pairs (DPO), or a way to check "
            "responses in code (RLVR)."
        ],
    )


@_aws.friendly_errors
def run(args: argparse.Namespace) -> int:
    if args.baseline is not None and not 0 <= args.baseline <= 100:
        raise _aws.CommandError(f"--baseline {args.baseline:g} must be between 0 and 100.", _aws.INVALID)
    result = recommend(Answers(args), args.baseline)
    if result.technique is None:
        print("No recommendation.")
    else:
        print(f"Recommended technique: {result.technique.upper()}")
    for reason in result.reasons:
        print(_term.wrap(reason, "  - ", "    "))
    for note in result.notes:
        print(_term.wrap(note, "  note: ", "    "))
    if result.technique:
        print(
            _term.wrap(
                f"Next: pick a base model that supports {result.technique.upper()} ('cdk-finetune models', "
                f"'cdk-finetune techniques MODEL'), then 'cdk-finetune init --technique {result.technique}'."
            )
        )
    return 0
