"""The handler through CloudFormation events, against the model-validating fake."""

from __future__ import annotations

import json
from typing import Any

import pytest

from constructs_lib.handler import lifecycle
from constructs_lib.handler.properties import (
    LOGICAL_ID_TAG,
    NAME_PREFIX,
    OWNER_TAG,
    REMOVAL_POLICY,
    REQUEST,
    REQUEST_HASH_TAG,
    request_hash,
)
from tests.fakes import FakeSageMaker, ModelValidationError
from tests.harness import CREATE_FAILED_MARKER, Framework, cfn_strings

ROLE_ARN = "arn:aws:iam::123456789012:role/training"


def request(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File",
        },
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://data/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/models/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"num_round": "100"},
        "Tags": [{"Key": "team", "Value": "ml"}],
    }
    base.update(overrides)
    return base


def properties(removal: str = "retain", **overrides: Any) -> dict[str, Any]:
    return cfn_strings(
        {REQUEST: request(**overrides), NAME_PREFIX: "ml-0a1b2c-train", REMOVAL_POLICY: removal}
    )


@pytest.fixture
def sagemaker() -> FakeSageMaker:
    return FakeSageMaker()


@pytest.fixture
def cfn(sagemaker: FakeSageMaker) -> Framework:
    return Framework(sagemaker)


# -- Create -------------------------------------------------------------------


def test_create_waits_until_completed_and_returns_attributes(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    response = cfn.create(properties())

    assert response.status == "SUCCESS", response.reason
    name = response.physical_id
    assert name.startswith("ml-0a1b2c-train-")
    assert lifecycle.is_job_name(name)
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 1
    # Two polls InProgress, then Completed.
    assert response.polls == 3
    assert response.data["TrainingJobName"] == name
    assert response.data["TrainingJobArn"].endswith(f":training-job/{name}")
    assert response.data["ModelArtifacts"] == f"s3://data/models/{name}/output/model.tar.gz"
    assert response.data["Metric.validation:rmse"] == "0.25"


def test_create_coerces_cloudformation_strings_to_api_types(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    props = properties(EnableNetworkIsolation=True)
    assert props[REQUEST]["ResourceConfig"]["InstanceCount"] == "1"
    assert props[REQUEST]["EnableNetworkIsolation"] == "true"

    assert cfn.create(props).status == "SUCCESS"

    sent = sagemaker.calls_of("CreateTrainingJob")[0]
    assert sent["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 10,
    }
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert sent["EnableNetworkIsolation"] is True
    # Map values the model types as strings stay strings.
    assert sent["HyperParameters"] == {"num_round": "100"}


def test_fake_rejects_requests_the_api_would_reject(sagemaker: FakeSageMaker) -> None:
    # Guards the guard: the fake validates, so uncoerced strings cannot slip through.
    raw = {**request(), "TrainingJobName": "job-1"}
    raw["ResourceConfig"] = {**raw["ResourceConfig"], "InstanceCount": "1"}
    with pytest.raises(ModelValidationError, match="InstanceCount"):
        sagemaker.create_training_job(**raw)


def test_generated_name_is_deterministic_per_request() -> None:
    args = {"stack_id": "stack", "logical_id": "Train"}
    first = lifecycle.generated_name("Prefix_With Bad*Chars", request_id="r1", **args)
    assert first == lifecycle.generated_name("Prefix_With Bad*Chars", request_id="r1", **args)
    assert first != lifecycle.generated_name("Prefix_With Bad*Chars", request_id="r2", **args)
    assert first.startswith("prefix-with-bad-chars-")
    long_name = lifecycle.generated_name("x" * 200, request_id="r1", **args)
    assert len(long_name) == 63
    assert lifecycle.is_job_name(long_name)
    assert lifecycle.generated_name("---", request_id="r1", **args).startswith("training-job-")


def test_create_uses_fixed_name(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    response = cfn.create(properties(TrainingJobName="my-fixed-job"))

    assert response.status == "SUCCESS"
    assert response.physical_id == "my-fixed-job"
    assert sagemaker.calls_of("CreateTrainingJob")[0]["TrainingJobName"] == "my-fixed-job"


def test_failed_job_fails_the_deploy_with_its_reason(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    sagemaker.plan.final = "Failed"
    sagemaker.plan.failure_reason = "AlgorithmError: label column has NaN values"

    response = cfn.create(properties())

    assert response.status == "FAILED"
    assert response.polls == 3  # at once when the job fails, not at the timeout
    assert response.physical_id in response.reason
    assert "ended Failed" in response.reason
    assert "AlgorithmError: label column has NaN values" in response.reason
    assert "/aws/sagemaker/TrainingJobs" in response.reason


def test_stopped_job_fails_the_deploy(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    sagemaker.plan.final = "Stopped"

    response = cfn.create(properties())

    assert response.status == "FAILED"
    assert "ended Stopped" in response.reason


def test_huge_failure_reason_still_fits_the_response(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    sagemaker.plan.final = "Failed"
    sagemaker.plan.failure_reason = "E" * 10_000

    response = cfn.create(properties())  # Framework asserts the 4 KB limit

    assert response.status == "FAILED"
    assert "[truncated]" in response.reason
    assert response.physical_id in response.reason


def test_create_error_names_the_job(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    sagemaker.fail_next("CreateTrainingJob", "ValidationException", "Invalid instance type")

    response = cfn.create(properties(TrainingJobName="bad-job"))

    assert response.status == "FAILED"
    assert response.physical_id == CREATE_FAILED_MARKER
    assert "bad-job" in response.reason
    assert "Invalid instance type" in response.reason
    assert sagemaker.jobs == {}


def test_retried_create_adopts_its_own_job(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    event = cfn.event("Create", properties())
    first = lifecycle.on_event(event, cfn.runtime)

    retry = cfn.run(event)  # same request id: CreateTrainingJob meets ResourceInUse

    assert retry.status == "SUCCESS"
    assert retry.physical_id == first["PhysicalResourceId"]
    assert len(sagemaker.jobs) == 1


def test_fixed_name_in_use_fails_with_advice(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    assert cfn.create(properties(TrainingJobName="taken")).status == "SUCCESS"

    response = cfn.create(properties(TrainingJobName="taken"))

    assert response.status == "FAILED"
    assert "taken is already in use" in response.reason
    assert "training_job_name" in response.reason


def test_malformed_request_property_is_reported() -> None:
    props = properties()
    props[REQUEST]["ResourceConfig"]["InstanceCount"] = "one"
    with pytest.raises(lifecycle.TrainingJobError, match=r"ResourceConfig\.InstanceCount"):
        lifecycle.render_request(props, FakeSageMaker())  # type: ignore[arg-type]


# -- Delete -------------------------------------------------------------------


def test_delete_stops_a_running_job_and_waits(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    sagemaker.plan.polls = 100  # the job would run long
    create = cfn.event("Create", properties())
    name = lifecycle.on_event(create, cfn.runtime)["PhysicalResourceId"]

    response = cfn.delete(name, properties())

    assert response.status == "SUCCESS"
    assert sagemaker.calls_of("StopTrainingJob") == [{"TrainingJobName": name}]
    assert sagemaker.jobs[name].status == "Stopped"
    assert response.polls >= 2  # it waited through Stopping
    assert sagemaker.deleted == []  # RETAIN keeps the record


def test_delete_with_destroy_deletes_the_record(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    name = cfn.create(properties(removal="destroy")).physical_id

    response = cfn.delete(name, properties(removal="destroy"))

    assert response.status == "SUCCESS"
    assert sagemaker.deleted == [name]
    assert sagemaker.calls_of("StopTrainingJob") == []


def test_delete_after_failed_create_is_a_no_op(sagemaker: FakeSageMaker, cfn: Framework) -> None:
    response = cfn.delete(CREATE_FAILED_MARKER, properties())

    assert response.status == "SUCCESS"
    assert sagemaker.calls == []


def test_delete_of_a_job_that_no_longer_exists_succeeds(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    response = cfn.delete("ml-0a1b2c-train-000000000000", properties())

    assert response.status == "SUCCESS"
    assert [name for name, _ in sagemaker.calls] == ["DescribeTrainingJob"] * 2


# -- Update -------------------------------------------------------------------


def test_update_of_tags_only_changes_them_in_place(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    old = properties()
    name = cfn.create(old).physical_id
    new = properties(Tags=[{"Key": "team", "Value": "research"}, {"Key": "cost", "Value": "42"}])

    response = cfn.update(name, old, new)

    assert response.status == "SUCCESS"
    assert response.physical_id == name
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 1
    assert sagemaker.jobs[name].tags == {
        "team": "research",
        "cost": "42",
        OWNER_TAG: "00000000-0000-0000-0000-000000000001",  # the Create's request id
        # Tags change in place: the job still serves the new request.
        REQUEST_HASH_TAG: request_hash(lifecycle.render_request(new, sagemaker)),  # type: ignore[arg-type]
        # The resource that started it (constructs-lib watch finds the job by it).
        LOGICAL_ID_TAG: "TrainA1B2C3D4",
    }


def test_update_of_training_settings_starts_a_new_job(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    old = properties()
    name = cfn.create(old).physical_id
    new = properties(HyperParameters={"num_round": "200"})

    response = cfn.update(name, old, new)

    assert response.status == "SUCCESS"
    assert response.physical_id != name
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 2
    # CloudFormation then deletes the old job, which completed: nothing to stop.
    assert cfn.delete(name, old).status == "SUCCESS"
    assert sagemaker.calls_of("StopTrainingJob") == []


def test_update_needing_replacement_of_a_fixed_name_fails(
    sagemaker: FakeSageMaker, cfn: Framework
) -> None:
    old = properties(TrainingJobName="fixed")
    cfn.create(old)

    response = cfn.update("fixed", old, properties(TrainingJobName="fixed", HyperParameters={}))

    assert response.status == "FAILED"
    assert "Change training_job_name" in response.reason
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 1


def test_response_data_stays_small_with_many_metrics(sagemaker: FakeSageMaker) -> None:
    sagemaker.plan.metrics = {f"metric-{i:03d}:" + "x" * 200: float(i) for i in range(100)}
    cfn = Framework(sagemaker)
    response = cfn.create(properties())

    assert response.status == "SUCCESS"
    assert 0 < sum(key.startswith("Metric.") for key in response.data) < 100
    assert len(json.dumps(response.data)) <= lifecycle.MAX_DATA_BYTES
