"""``cdk-finetune hubs | models | techniques``: which hubs, base models and techniques can be customized.

Rules: `Model customization <https://docs.aws.amazon.com/sagemaker/latest/dg/customizing-models.html>`_ (AI Registry hubs excluded, the
``@capability:customization`` keyword, ``@recipe:finetuning_<technique>`` keywords, recipes with a
``SmtjRecipeTemplateS3Uri``, licenses).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any

from ..runtime import models
from . import _aws, _term

CUSTOMIZATION_KEYWORD = "@capability:customization"
RECIPE_KEYWORD_PREFIX = "@recipe:finetuning_"
AI_REGISTRY = "AI Registry"


def register(subparsers: argparse._SubParsersAction) -> None:
    hubs = subparsers.add_parser(
        "hubs",
        help="list the SageMaker hubs that hold base models",
        description="List the hubs in the region that hold base models (AI Registry hubs are left out).",
    )
    _aws.add_aws_options(hubs)
    hubs.set_defaults(handler=run_hubs)

    listing = subparsers.add_parser(
        "models",
        help="list the base models that can be fine-tuned, with licenses",
        description="List the customizable base models of a hub, grouped by family, with their licenses.",
    )
    listing.add_argument(
        "--hub", help="hub name (default: the only eligible hub, usually SageMakerPublicHub)"
    )
    _aws.add_aws_options(listing)
    listing.set_defaults(handler=run_models)

    techniques = subparsers.add_parser(
        "techniques",
        help="show the techniques and training types a model supports",
        description="Show the fine-tuning techniques (SFT, DPO, RLVR, RLAIF) and training types (LoRA, full) "
        "a base model supports, from its serverless recipes and search keywords.",
    )
    techniques.add_argument("model", help="hub content name, e.g. meta-textgeneration-llama-3-2-1b-instruct")
    techniques.add_argument("--hub", help="hub name (default: the only eligible hub)")
    _aws.add_aws_options(techniques)
    techniques.set_defaults(handler=run_techniques)


# --- hubs ------------------------------------------------------------------------------------------------


def eligible_hubs(sagemaker: Any) -> list[dict[str, Any]]:
    """Hubs that can hold base models: every hub whose description does not mention the AI Registry."""
    hubs = _aws.pages(sagemaker.list_hubs, "HubSummaries")
    return [hub for hub in hubs if AI_REGISTRY not in (hub.get("HubDescription") or "")]


def resolve_hub(args: argparse.Namespace, sagemaker: Any) -> str:
    """--hub, else the only eligible hub, else ask (or fail listing the choices when not interactive)."""
    if args.hub:
        return args.hub
    hubs = [hub["HubName"] for hub in eligible_hubs(sagemaker)]
    if not hubs:
        raise _aws.CommandError("No hub with base models in this region (only AI Registry hubs, or none).")
    if len(hubs) == 1:
        return hubs[0]
    if _term.interactive():
        return _term.ask("Several hubs hold base models; which one", hubs)
    raise _aws.CommandError(f"Several hubs hold base models; pass --hub (one of: {', '.join(hubs)}).", 2)


@_aws.friendly_errors
def run_hubs(args: argparse.Namespace) -> int:
    hubs = eligible_hubs(_aws.client(args, "sagemaker"))
    if not hubs:
        raise _aws.CommandError(f"No hub with base models in {_aws.region(args)}.")
    print(f"Hubs with base models in {_aws.region(args)}:")
    for hub in hubs:
        status = hub.get("HubStatus", "")
        description = hub.get("HubDescription") or hub.get("HubDisplayName") or ""
        print(_term.wrap(f"{hub['HubName']} ({status}) - {description}".rstrip(" -"), "  ", "      "))
    return 0


# --- models ----------------------------------------------------------------------------------------------


def customizable_models(sagemaker: Any, hub: str) -> list[dict[str, Any]]:
    """Hub content summaries of the models tagged ``@capability:customization`` (all pages)."""
    summaries = _aws.pages(
        sagemaker.list_hub_contents,
        "HubContentSummaries",
        HubName=hub,
        HubContentType="Model",
        MaxResults=100,
    )
    return [s for s in summaries if CUSTOMIZATION_KEYWORD in (s.get("HubContentSearchKeywords") or [])]


def family(name: str) -> str:
    return models.model_family(name) or "Other"


def license_lines(name: str, indent: str) -> list[str]:
    lic = models.license_for(name)
    if lic is None:
        return [f"{indent}license: unknown - read the model card before training"]
    link = indent + lic.url if len(indent) + len(lic.url) <= _term.WIDTH else lic.url
    return [f"{indent}license: {lic.name}", link]


@_aws.friendly_errors
def run_models(args: argparse.Namespace) -> int:
    sagemaker = _aws.client(args, "sagemaker")
    hub = resolve_hub(args, sagemaker)
    try:
        found = customizable_models(sagemaker, hub)
    except _aws.ClientError as exc:
        if _aws.is_not_found(exc):
            raise _aws.CommandError(
                f"Hub {hub!r} does not exist in {_aws.region(args)}; list hubs with 'cdk-finetune hubs'.", 2
            ) from None
        raise
    if not found:
        print(f"No customizable models in {hub} ({_aws.region(args)}).")
        return 0
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for summary in found:
        groups[family(summary["HubContentName"])].append(summary)
    print(f"Customizable models in {hub} ({_aws.region(args)}): {len(found)}")
    for label in sorted(groups, key=lambda g: (g == "Other", g)):
        print(f"\n{label}")
        for summary in sorted(groups[label], key=lambda s: s["HubContentName"]):
            name = summary["HubContentName"]
            notes = [f"v{summary['HubContentVersion']}"] if summary.get("HubContentVersion") else []
            if models.is_gated(name):
                notes.append("gated: needs accept_eula")
            print(_term.wrap(f"{name}  {', '.join(notes)}".rstrip(), "  ", "      "))
            print("\n".join(license_lines(name, "    ")))
    print("\nNext: cdk-finetune techniques MODEL")
    return 0


# --- techniques ------------------------------------------------------------------------------------------


def keyword_techniques(keywords: list[str]) -> list[str]:
    """``@recipe:finetuning_sft_lora`` -> ``sft``; de-duplicated, allow-listed, in keyword order."""
    found = []
    for keyword in keywords:
        if keyword.startswith(RECIPE_KEYWORD_PREFIX):
            technique = keyword.removeprefix(RECIPE_KEYWORD_PREFIX).split("_")[0].lower()
            if technique in models.TECHNIQUES and technique not in found:
                found.append(technique)
    return found


def recipe_support(document: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """technique -> {"types": {"LoRA", "full"}, "lengths": {"8K", ...}} for recipes usable serverless."""
    support: dict[str, dict[str, set[str]]] = {}
    for recipe in document.get("RecipeCollection") or []:
        if not isinstance(recipe, dict) or not recipe.get("SmtjRecipeTemplateS3Uri"):
            continue
        if recipe.get("Type", "FineTuning") != "FineTuning":
            continue
        technique = str(recipe.get("CustomizationTechnique", "")).lower()
        if technique not in models.TECHNIQUES:
            continue
        entry = support.setdefault(technique, {"types": set(), "lengths": set()})
        entry["types"].add("LoRA" if recipe.get("Peft") else "full")
        if recipe.get("SequenceLength"):
            entry["lengths"].add(str(recipe["SequenceLength"]))
    return support


def _hub_document(content: dict[str, Any]) -> dict[str, Any]:
    raw = content.get("HubContentDocument") or "{}"
    try:
        document = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _lengths(values: set[str]) -> str:
    return ", ".join(sorted(values, key=lambda v: (len(v), v))) or "-"


@_aws.friendly_errors
def run_techniques(args: argparse.Namespace) -> int:
    name = models.hub_content_name(args.model)
    if not models.RESOURCE_NAME_RE.match(name):
        raise _aws.CommandError(
            f"{args.model!r} is not a hub content name (letters, digits and hyphens); "
            "list models with 'cdk-finetune models'.",
            2,
        )
    sagemaker = _aws.client(args, "sagemaker")
    hub = resolve_hub(args, sagemaker)
    try:
        content = sagemaker.describe_hub_content(HubName=hub, HubContentType="Model", HubContentName=name)
    except _aws.ClientError as exc:
        if _aws.is_not_found(exc):
            raise _aws.CommandError(
                f"Model {name!r} is not in hub {hub!r} ({_aws.region(args)}), or the hub does not exist. "
                "List customizable models with 'cdk-finetune models'.",
                2,
            ) from None
        raise
    document = _hub_document(content)
    from_keywords = keyword_techniques(content.get("HubContentSearchKeywords") or [])
    from_recipes = recipe_support(document)
    print(f"{name} ({hub}, version {content.get('HubContentVersion', '?')})")
    print("\n".join(license_lines(name, "")))
    if document.get("GatedBucket"):
        print("EULA: acceptance required; set accept_eula: true in the spec")
    if CUSTOMIZATION_KEYWORD not in (content.get("HubContentSearchKeywords") or []):
        print(_term.wrap(f"Note: {name} is not tagged {CUSTOMIZATION_KEYWORD}; it may not be customizable."))
    techniques = [t for t in models.TECHNIQUES if t in from_recipes or t in from_keywords]
    if not techniques:
        print(
            _term.wrap(
                "No serverless fine-tuning technique found. Pick another model ('cdk-finetune models')."
            )
        )
        return 0
    rows = []
    for technique in techniques:
        support = from_recipes.get(technique)
        if support is None:
            rows.append((technique.upper(), "-", "-", "keyword only: no serverless recipe"))
        else:
            types = ", ".join(sorted(support["types"], key=lambda t: t != "LoRA"))
            source = "recipe + keyword" if technique in from_keywords else "recipe"
            rows.append((technique.upper(), types, _lengths(support["lengths"]), source))
    print()
    print(_term.table(("technique", "training types", "sequence lengths", "source"), rows))
    print("\nNext: cdk-finetune recommend, then cdk-finetune init")
    return 0
