"""The provider's log while it waits: a JSON line when a job is created (its name and
console link), one per status transition (not per poll, across hand-overs), and every
failure's message ending with the command that shows the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib.handler import progress, signal
from constructs_lib.handler.kinds import TRAINING
from tests.fakes import FakeSageMaker
from tests.harness import STACK_ID, Framework
from tests.lambda_handler.test_handler_lifecycle import properties

HINT = (
    "`constructs-lib watch ml` shows each job of the stack, its status history and the "
    "last lines of its log."
)


def _progress(out: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "progress" in line]


def test_one_line_at_creation_and_one_per_transition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.polls = 40  # 20 minutes: 40 polls by the state machine
    framework = Framework(sagemaker)

    response = framework.create(properties())

    assert response.status == "SUCCESS"
    assert framework.invocations == response.polls
    name = response.physical_id
    created, *transitions = _progress(capsys.readouterr().out)
    assert created == {
        "progress": "created",
        "kind": "training",
        "job": name,
        "logicalId": "TrainA1B2C3D4",
        "stack": "ml",
        "console": f"https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/{name}",
    }
    assert [(t["status"], t["secondaryStatus"]) for t in transitions] == [
        ("InProgress", "Training"),
        ("Completed", "Completed"),
    ]
    assert transitions[-1]["metrics"] == {"validation:rmse": 0.25}
    assert {t["job"] for t in transitions} == {name}


def test_a_failure_names_the_watch_command(capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.final = "Failed"

    response = Framework(sagemaker).create(properties())

    assert response.status == "FAILED"
    assert response.reason.startswith(f"Training job {response.physical_id} ended Failed")
    assert response.reason.endswith(HINT)
    *_, failed = _progress(capsys.readouterr().out)
    assert failed["status"] == "Failed"
    assert failed["message"] == sagemaker.plan.failure_reason


def test_a_wait_conditions_failure_names_the_watch_command() -> None:
    sent: list[dict[str, Any]] = []
    event = {
        "handleUrl": "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/h",
        "jobName": "job-1",
        "stackName": "ml",
        "detail": {
            "TrainingJobName": "job-1",
            "TrainingJobStatus": "Failed",
            "FailureReason": "AlgorithmError",
        },
    }

    signal.handle_event(event, lambda url, body: sent.append(body))

    [body] = sent
    assert body["Status"] == "FAILURE"
    assert body["Reason"].endswith(HINT)


@pytest.mark.parametrize(
    ("stack_id", "console"),
    [
        (STACK_ID, "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1"),
        (
            "arn:aws-cn:cloudformation:cn-north-1:1:stack/s/1",
            "https://cn-north-1.console.amazonaws.cn/sagemaker/home?region=cn-north-1",
        ),
        ("arn:aws-iso:cloudformation:us-iso-east-1:1:stack/s/1", None),
    ],
)
def test_console_links_follow_the_partition(stack_id: str, console: str | None) -> None:
    partition, region, _ = progress._arn_parts(stack_id)
    url = progress.console_url(region, TRAINING, "job-1", partition)
    assert url == (f"{console}#/jobs/job-1" if console else None)
