"""The README's shell commands work as written: each `make` target it shows exists,
and `make synth` and `make docs` run here for real (what a new user does first).

Not run: `make test` (it is what runs this test), `make bench` (minutes; it has its
own target), `cdk deploy` (needs an AWS account) and `git clone` (CI clones)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SHELL = "\n".join(re.findall(r"```bash\n(.*?)```", README, flags=re.S))
MAKE_TARGETS = sorted(set(re.findall(r"^make ([\w-]+)", SHELL, flags=re.M)))
RUN_HERE = ("synth", "docs")


def test_the_readme_shows_the_two_commands() -> None:
    assert {"synth", "test"} <= set(MAKE_TARGETS)


@pytest.mark.parametrize("target", MAKE_TARGETS)
def test_every_make_target_of_the_readme_exists(target: str) -> None:
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), flags=re.M), target


@pytest.mark.cli
@pytest.mark.parametrize("target", RUN_HERE)
def test_readme_make_command_runs(target: str) -> None:
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"}
    result = subprocess.run(
        ["make", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    if target == "synth":
        template = json.loads((ROOT / "cdk.out" / "TrainAndServe.template.json").read_text())
        kinds = {resource["Type"] for resource in template["Resources"].values()}
        # The whole pipeline: data, training, model, endpoint config, endpoint.
        assert {
            "Custom::SageMakerTrainingJob",
            "AWS::SageMaker::Model",
            "AWS::SageMaker::EndpointConfig",
            "AWS::SageMaker::Endpoint",
        } <= kinds
    else:
        assert (ROOT / "docs" / "index.html").exists()
