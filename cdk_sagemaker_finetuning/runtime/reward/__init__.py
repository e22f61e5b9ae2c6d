"""Reward Lambda runtime: the handler the training job invokes, and the built-in rewards.

Standard library only, so the package is copied as-is into the reward Lambda's asset (as
``reward_runtime``) and imports in a few milliseconds. ``handler`` holds the event/envelope contract,
``sample`` reads the fields a reward needs from a dataset row, ``builtins`` holds the named rewards
(``BUILTIN_REWARDS``).
"""
