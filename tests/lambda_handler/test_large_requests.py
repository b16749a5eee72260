"""Requests at the API's limits wait like any other: the state handed to the waiting
state machine (Step Functions: 256 KiB for an execution's input, each state and each
task's result) carries what polling needs, never the request, so the largest event
CloudFormation can deliver (Lambda's 1 MB: an Update holds the old and the new
properties) creates, replaces, rolls back and deletes its job. Only while a later poll
must still send the request (a throttled Create, a quota wait) does the state carry
the properties, compressed; what does not fit even so is refused with the reason, the
job stopped if one was started. tests/simulation.py asserts every limit on the way."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, Fn, Stack
from aws_cdk import aws_s3 as s3
from botocore.model import Shape

from constructs_lib import TrainingImage, TrainingJob, TrainingOutput
from constructs_lib.core._event_size import (
    LARGE_REQUEST_WARNING_ID,
    MAX_PROPERTIES_BYTES,
    check_event_size,
)
from constructs_lib.handler import carry, lifecycle, waiter
from constructs_lib.handler.properties import NAME_PREFIX, POLL_INTERVAL, QUOTA_WAIT, REQUEST
from constructs_lib.testing import warnings
from tests.fakes import FakeSageMaker, service_model, validate
from tests.harness import Framework, Resource, cfn_strings
from tests.lambda_handler.test_handler_lifecycle import request
from tests.lambda_handler.test_quota_wait import BUSY
from tests.simulation import EVENT_LIMIT, STATE_LIMIT, Simulation

_MODEL = botocore.session.get_session().get_service_model("sagemaker")
_CREATE = _MODEL.operation_model("CreateTrainingJob")
#: A carried state holds ids, the response URL, the data and the control properties.
SMALL_STATE = 16 * 1024


#: Words of a vocabulary, as configuration values repeat them.
_WORDS = ["".join(random.Random(i).choices(string.ascii_lowercase, k=6)) for i in range(256)]


def _text(generator: random.Random, length: int, *, compressible: bool) -> str:
    """Text of ``length`` characters: words of a vocabulary (the largest request
    archives to 168 KB of 454 KB), or random letters and digits (449 KB: too large to
    carry)."""
    if compressible:
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append(generator.choice(_WORDS))
        return " ".join(words)[:length]
    return "".join(generator.choices(string.ascii_letters + string.digits, k=length))


def largest_request(seed: int, *, compressible: bool = False) -> dict[str, Any]:
    """A CreateTrainingJob request at the API's limits: 100 hyperparameters of 256 and
    2,500 characters, 100 environment variables of 512 and 512, the library's 46 tags
    of 128 and 256, 20 channels whose S3 URIs are 1,024 characters, 40 metric
    definitions of 255 and 500."""
    generator = random.Random(seed)

    def text(length: int) -> str:
        return _text(generator, length, compressible=compressible)

    def key(index: int, length: int, first: str = "k") -> str:
        return f"{first}{index:03d}" + text(length - 4)

    return request(
        HyperParameters={key(i, 256): text(2500) for i in range(100)},
        Environment={key(i, 512, "E"): text(512) for i in range(100)},
        Tags=[{"Key": key(i, 128), "Value": text(256)} for i in range(46)],
        InputDataConfig=[
            {
                "ChannelName": f"channel{i:02d}",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://data/" + text(1024 - len("s3://data/")),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for i in range(20)
        ],
        AlgorithmSpecification={
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": key(i, 255), "Regex": "x=([0-9.]+)" + text(500 - 11)} for i in range(40)
            ],
        },
    )


def _within_limits(shape: Shape, value: Any, where: str = "") -> list[str]:
    """Where ``value`` passes a ``max`` of botocore's model (its validator checks only
    the minimums)."""
    problems: list[str] = []
    limit = shape.metadata.get("max")
    if limit is not None and isinstance(value, str | list | dict) and len(value) > limit:
        problems.append(f"{where}: {len(value)} > {limit}")
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            problems += _within_limits(shape.members[name], item, f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += _within_limits(shape.member, item, f"{where}[{index}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map" and isinstance(value, dict):
        for name, item in value.items():
            problems += _within_limits(shape.key, name, f"{where} key")  # type: ignore[attr-defined]
            problems += _within_limits(shape.value, item, f"{where}[{name}]")  # type: ignore[attr-defined]
    return problems


def _properties(seed: int, *, compressible: bool = False, **extra: Any) -> dict[str, Any]:
    return cfn_strings(
        {
            REQUEST: largest_request(seed, compressible=compressible),
            NAME_PREFIX: "ml-0a1b2c-train",
            **extra,
        }
    )


def test_the_largest_request_is_legal_and_its_update_event_is_one_cloudformation_delivers() -> None:
    legal = {**largest_request(1), "TrainingJobName": "a-name"}
    validate(service_model("sagemaker").operation_model("CreateTrainingJob"), legal)
    assert _within_limits(_CREATE.input_shape, legal) == []
    framework = Framework(FakeSageMaker())
    update = framework.event(
        "Update",
        _properties(2),
        PhysicalResourceId="job-1",
        OldResourceProperties={"ServiceToken": "token", **_properties(1)},
    )
    size = len(json.dumps(update).encode())
    # More than Step Functions takes, less than Lambda takes from CloudFormation.
    assert 3 * STATE_LIMIT < size < EVENT_LIMIT


def test_create_update_rollback_and_delete_at_the_limits_carry_small_states() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 20 * 60
    framework = Framework(sagemaker)
    resource = Resource(framework)

    created = resource.deploy(_properties(1))
    assert created.status == "SUCCESS", created.reason
    first = created.physical_id
    assert created.polls > 3  # the state machine waited through several polls

    # A change replaces the job: the event holds both requests, the states neither.
    replaced = resource.deploy(_properties(2))
    assert replaced.status == "SUCCESS", replaced.reason
    assert replaced.physical_id != first
    assert sagemaker.job(first).status == "Completed"

    # A change whose job fails is rolled back to the previous job.
    sagemaker.plan.final = "Failed"
    failed = resource.deploy(_properties(3))
    assert failed.status == "FAILED"
    assert resource.physical_id == replaced.physical_id

    # Delete of a running job (started, not waited for) stops it, then answers.
    sagemaker.plan.runtime = 40 * 60
    started, failure = framework.start(framework.event("Create", _properties(4)))
    assert failure is None
    running = started["PhysicalResourceId"]
    deleted = framework.delete(running, _properties(4))
    assert deleted.status == "SUCCESS", deleted.reason
    assert sagemaker.calls_of("StopTrainingJob") == [{"TrainingJobName": running}]

    assert 0 < framework.largest_state < SMALL_STATE


def test_a_throttled_create_at_the_limits_is_carried_compressed_and_started_later() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.throttle("CreateTrainingJob", 150)
    framework = Framework(sagemaker)

    response = framework.create(_properties(1, compressible=True))

    assert response.status == "SUCCESS", response.reason
    assert len(sagemaker.created) == 1
    assert SMALL_STATE < framework.largest_state <= carry.STATE_BUDGET


def test_a_deferred_create_whose_properties_do_not_fit_even_compressed_fails_saying_why() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.throttle("CreateTrainingJob", 150)
    framework = Framework(sagemaker)

    response = framework.create(_properties(1))

    assert response.status == "FAILED"
    assert "cannot go on waiting: its work was deferred to the next poll" in response.reason
    assert "even compressed" in response.reason and "256 KiB" not in response.reason
    assert sagemaker.created == []  # nothing started, nothing to stop


def test_a_quota_wait_carries_the_request_compressed_until_the_job_starts() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.fail_next("CreateTrainingJob", "ResourceLimitExceeded", BUSY, times=3)
    framework = Framework(sagemaker)

    response = framework.create(_properties(1, compressible=True, **{QUOTA_WAIT: "1200"}))

    assert response.status == "SUCCESS", response.reason
    assert len(sagemaker.created) == 1
    assert framework.largest_state <= carry.STATE_BUDGET


def test_a_quota_wait_of_a_request_too_large_to_carry_fails_at_once_naming_the_quota() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.fail_next("CreateTrainingJob", "ResourceLimitExceeded", BUSY, times=3)
    framework = Framework(sagemaker)

    response = framework.create(_properties(1, **{QUOTA_WAIT: "1200"}))

    assert response.status == "FAILED"
    assert "'ml.p5.48xlarge for training job usage'" in response.reason
    assert "cannot wait for a slot" in response.reason and "even compressed" in response.reason
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 1


def test_a_state_that_would_pass_the_limit_is_never_returned_the_job_is_stopped() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 20 * 60
    framework = Framework(sagemaker)
    event = framework.event("Create", _properties(1))

    # A poll whose progress record grew past what a state may hold (the records are
    # bounded; this one is forced).
    def grown(poll_event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
        answer = lifecycle.is_complete(poll_event, runtime)
        if not answer["IsComplete"]:
            answer["Progress"] = {"Message": "x" * carry.STATE_BUDGET}
        return answer

    simulation = Simulation(
        framework.clock,
        framework.runtime,
        services=framework.services,
        steps=waiter.Steps(is_complete=grown),
    )
    simulation.send(event)
    simulation.run()
    [(_, body)] = simulation.answers
    [name] = sagemaker.created
    assert body["Status"] == "FAILED"
    assert "more than the" in body["Reason"] and "can carry" in body["Reason"]
    assert sagemaker.calls_of("StopTrainingJob") == [{"TrainingJobName": name}]


@pytest.mark.parametrize("start", [0.0, 1000.6])
def test_a_longer_poll_interval_waits_exactly_that_interval(start: float) -> None:
    sagemaker = FakeSageMaker()
    sagemaker.clock.seconds = start  # the creation at a fraction of a second
    sagemaker.plan.runtime = 5 * 60
    framework = Framework(sagemaker)

    response = framework.create(
        cfn_strings({REQUEST: request(), NAME_PREFIX: "ml-train", POLL_INTERVAL: 90})
    )

    assert response.status == "SUCCESS", response.reason
    assert framework.waits[:3] == [90, 90, 90]


# -- at synth ---------------------------------------------------------------------


def test_a_job_at_the_api_limits_synthesizes_and_warns_that_no_deferred_create_can_carry_it() -> (
    None
):
    app = App()
    stack = Stack(app, "Large")
    bucket = s3.Bucket(stack, "Data")
    generator = random.Random(5)

    def text(length: int) -> str:
        return _text(generator, length, compressible=False)

    TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={f"k{i:03d}{text(252)}": text(2500) for i in range(100)},
        environment={f"E{i:03d}{text(508)}": text(512) for i in range(100)},
    )
    # (Random values also look like secrets: warned of one by one.)
    [warning] = [w for w in warnings(stack) if LARGE_REQUEST_WARNING_ID in w]
    assert warning.startswith("/Large/Train: the job's request takes about")
    assert "even compressed" in warning and LARGE_REQUEST_WARNING_ID in warning
    assert "HyperParameters 2" in warning  # the largest member named first


def test_properties_an_update_could_not_carry_are_refused_naming_the_limit() -> None:
    scope = Stack(App(), "Huge")
    fits = {REQUEST: {"HyperParameters": {"a": "x" * (MAX_PROPERTIES_BYTES - 100)}}}
    check_event_size(scope, fits, request_property=REQUEST)
    over = {REQUEST: {"HyperParameters": {"a": "x" * MAX_PROPERTIES_BYTES}, "RoleArn": "r"}}
    size = len(json.dumps(over, separators=(",", ":")))
    with pytest.raises(ValueError) as raised:
        check_event_size(scope, over, request_property=REQUEST)
    assert str(raised.value).startswith(
        f"[Huge] the job's request: about {size:,} bytes is invalid: "
    )
    assert f"of at most {EVENT_LIMIT:,} bytes" in str(raised.value)
    assert "The largest members: HyperParameters" in str(raised.value)
    # An unresolved value counts for what it may come to at deploy.
    tokens = {REQUEST: {"S3Uri": [Fn.ref(f"B{i}") for i in range(MAX_PROPERTIES_BYTES // 256)]}}
    with pytest.raises(ValueError, match="is invalid: CloudFormation hands"):
        check_event_size(scope, tokens, request_property=REQUEST)
