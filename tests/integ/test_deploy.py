"""``make integ-deploy``'s runner without an account: the CDK CLI and the preflight
played by a fake that records each command (the synth copies the committed snapshot,
the deploy writes the assertion stack's outputs). A passing test deploys, reads its
assertions and destroys; a failed assertion or deploy still destroys; a lacking
account skips the deploy; each test's worst case is priced before anything runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.integ import INTEG, stack_templates
from tests.integ.deploy import Outcome, assertion_failures, run_test, worst_case_lines

TRAINING = INTEG / "integ_training.py"
ASSERTIONS = "TrainingJobWaitsDefaultTestDeployAssert66EFBFBC"
SUCCESS = json.dumps({"status": "success"})


class FakeCli:
    """The commands ``run_test`` runs, answered as the CDK CLI and the preflight would."""

    def __init__(self, *, outputs: dict[str, str] | None, deploy: int = 0, preflight: int = 0):
        self.commands: list[list[str]] = []
        self.outputs, self.deploy, self.preflight = outputs, deploy, preflight

    def __call__(
        self, command: Sequence[str], env: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        command = list(command)
        self.commands.append(command)
        assert env["AWS_REGION"] == "eu-west-1"
        code = 0
        if "synth" in command:
            out = Path(command[command.index("--output") + 1])
            shutil.copytree(INTEG / "integ_training.py.snapshot", out)
        elif "preflight" in command:
            code = self.preflight
        elif "deploy" in command:
            code = self.deploy
            if self.outputs is not None:
                target = Path(command[command.index("--outputs-file") + 1])
                target.write_text(json.dumps({ASSERTIONS: self.outputs}))
        return subprocess.CompletedProcess(command, code, "", "")

    def steps(self) -> list[str]:
        return [
            next(word for word in ("synth", "preflight", "deploy", "destroy") if word in c)
            for c in self.commands
        ]


def _run(tmp_path: Path, cli: FakeCli) -> Outcome:
    return run_test(TRAINING, region="eu-west-1", profile="ml", workdir=tmp_path, run=cli)


def test_a_passing_test_deploys_reads_its_assertions_and_destroys(tmp_path: Path) -> None:
    cli = FakeCli(outputs={"AssertionResultsAwsApiCallA": SUCCESS, "AssertionResultsB": SUCCESS})

    outcome = _run(tmp_path, cli)

    assert outcome.passed, outcome.said
    assert cli.steps() == ["synth", "preflight", "deploy", "destroy"]
    deploy = cli.commands[2]
    assert deploy[deploy.index("--app") + 1] == str(tmp_path / "integ_training")
    assert deploy[-2:] == ["--profile", "ml"]
    assert "--all" in cli.commands[3] and "--force" in cli.commands[3]


@pytest.mark.parametrize(
    ("cli", "said"),
    [
        (
            FakeCli(
                outputs={
                    "AssertionResultsA": SUCCESS,
                    "AssertionResultsB": json.dumps(
                        {"status": "fail", "message": "Expected Completed but got Failed"}
                    ),
                }
            ),
            "AssertionResultsB: Expected Completed but got Failed",
        ),
        (FakeCli(outputs=None, deploy=1), "deploy failed"),
        (FakeCli(outputs={}), "no assertion reported a result"),
    ],
    ids=["assertion", "deploy", "silent"],
)
def test_a_failed_test_is_said_and_still_destroyed(tmp_path: Path, cli: FakeCli, said: str) -> None:
    outcome = _run(tmp_path, cli)

    assert not outcome.passed
    assert any(said in line for line in outcome.said)
    assert cli.steps()[-1] == "destroy"


def test_an_account_that_lacks_skips_the_deploy(tmp_path: Path) -> None:
    cli = FakeCli(outputs={}, preflight=1)

    outcome = _run(tmp_path, cli)

    assert not outcome.passed
    assert cli.steps() == ["synth", "preflight"]


def test_each_test_is_priced_at_the_documented_rates() -> None:
    cost, lines = worst_case_lines(stack_templates(INTEG / "integ_training.py.snapshot"))
    # One ml.m5.xlarge for its 20 minutes at $0.23 an hour.
    assert cost == pytest.approx(0.23 / 3)
    assert lines[0].endswith(
        "1 instance for max runtime 20 min = 0.33 instance-hours x $0.23/h = $0.08"
    )
    cost, lines = worst_case_lines(stack_templates(INTEG / "integ_pipeline.py.snapshot"))
    # Two processing jobs, the training job and its repack, the transform, and the
    # endpoint for as long as the deploy may wait for all of them, and an hour.
    assert len(lines) == 6
    assert lines[-1].startswith("  EndpointConfig: ml.m5.large endpoint, 1 x (the jobs' waits ")
    assert 1.0 < cost < 2.0


def test_assertion_outputs_are_read_from_every_stack() -> None:
    assert assertion_failures({"A": {"AssertionResultsX": SUCCESS}, "B": {"Other": "x"}}) == []
    assert assertion_failures({"A": {"AssertionResultsX": "not json"}}) == [
        "A.AssertionResultsX: not json"
    ]
