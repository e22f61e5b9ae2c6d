"""``cdk-finetune validate``: a summary and exit 0, or the SpecError messages and exit 2."""

from __future__ import annotations

import pytest
import yaml

from cdk_sagemaker_finetuning.cli import main
from tests.conftest import EXAMPLES


def test_valid_spec_prints_summary(capsys):
    assert main(["validate", str(EXAMPLES / "sft-llama-3-2-1b.yaml")]) == 0
    out = capsys.readouterr().out
    assert "meta-textgeneration-llama-3-2-1b-instruct" in out
    assert "SFT (LORA)" in out
    assert "Llama 3.2 Community" in out
    assert "support-sft" in out


def test_invalid_spec_prints_every_problem_and_exits_2(tmp_path, capsys, sft_spec_dict):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**sft_spec_dict, "name": "Bad Name", "accept_eula": False}))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "name: 'Bad Name' is invalid" in err
    assert "accept_eula: must be true" in err


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_help_lists_validate(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", "--help"])
    assert info.value.code == 0
    assert "SPEC" in capsys.readouterr().out.upper()
