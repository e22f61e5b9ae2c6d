"""Command groups of the ``cdk-finetune`` CLI, one module each."""
