"""Scheduled runs that register their model keep the deploy's guarantees (issue 37,
section 2): each run is an execution of the job's runs' state machine, which waits for
the run's job, judges it by the job's quality gate with the deploy's rule, repacks a
framework model with the serving code, and registers the version: approved only past
the gate, ``Rejected`` with the reason otherwise, and then the execution fails saying
so.

The stack is deployed on the fakes (tests/cloudformation.py), then the runs' state
machine, as deployed, runs in moto's Step Functions interpreter (LocalStack's) against
moto's SageMaker and model registry, the verdict step invoking the real handler
in-process: an independent interpreter of what is deployed. Its Wait states are not
slept; moto's jobs end at once, with the final metrics a test plans.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.assertions import Template
from moto import mock_aws
from moto.awslambda.models import LambdaBackend
from moto.sagemaker import sagemaker_backends
from moto.sagemaker.models import SageMakerModelBackend
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)

from constructs_lib import (
    Checkpoint,
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    MetricDefinition,
    MetricThreshold,
    ModelApproval,
    ModelPackageGroup,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)
from constructs_lib.handler import judge, lifecycle
from tests import cfn_lint
from tests.cloudformation import Engine
from tests.fakes import Plan
from tests.iam import role_statements

ACCOUNT = "123456789012"
REGION = "us-east-1"
ENV = Environment(account=ACCOUNT, region=REGION)
WEEKLY = scheduler.ScheduleExpression.rate(Duration.days(7))
EXECUTION_ID = "d32c5kddcf5bb8c3"


class Registered:
    """A PyTorch job (served from a repacked model) and an XGBoost job (the training
    image serves), each with a quality gate, retrained weekly into a group; deployed
    on the fakes."""

    def __init__(self) -> None:
        app = App()
        self.stack = stack = Stack(app, "ml", env=ENV)
        bucket = s3.Bucket(stack, "Data")
        self.group = ModelPackageGroup(stack, "Registry")
        rmse = MetricDefinition("validation:rmse", r"rmse=([0-9.]+)")
        self.torch = TrainingJob(
            stack,
            "Torch",
            image=TrainingImage.from_framework("pytorch", "2.5.1", py_version="py311"),
            code=TrainingCode.from_directory("sample_app/code", entry_point="train.py"),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "models/"),
            instance_type=InstanceType.of("ml.g5.xlarge"),
            metric_definitions=[rmse],
            quality_gate=[MetricThreshold("validation:rmse", at_most=2.5)],
            checkpoint=Checkpoint.to_bucket(bucket, "checkpoints/"),
        )
        self.container = self.torch.inference_container(
            entry_point="train.py", instance_type="ml.g5.xlarge"
        )
        self.torch.retrain_on_schedule(
            WEEKLY,
            register=self.group,
            container=self.container,
            approval=ModelApproval.APPROVED,
            content_types=["application/json"],
        )
        self.boost = TrainingJob(
            stack,
            "Boost",
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "boost/"),
            hyperparameters={"num_round": 50},
            quality_gate=[MetricThreshold("validation:rmse", at_most=2.5)],
        )
        self.boost.retrain_on_schedule(WEEKLY, register=self.group)
        self.tune = HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[ContinuousRange("eta", 0.1, 0.5)],
            quality_gate=[MetricThreshold("validation:rmse", at_most=2.5)],
        )
        self.tune.retrain_on_schedule(WEEKLY, register=self.group)
        self.template = dict(app.synth().get_stack_artifact(stack.artifact_id).template)
        self.engine = Engine()
        self.engine.sagemaker.plan = Plan(runtime=300.0, metrics={"validation:rmse": 1.0})
        assert self.engine.deploy(self.template) == "CREATE_COMPLETE", self.engine.failed()

    def resource(self, type_: str, construct: str) -> Any:
        [state] = [
            s
            for k, s in self.engine.resources.items()
            if s.type == type_ and k.startswith(construct)
        ]
        return state

    def group_name(self) -> str:
        return str(self.resource("AWS::SageMaker::ModelPackageGroup", "Registry").physical_id)


@pytest.fixture(scope="module")
def registered() -> Registered:
    return Registered()


class Runs:
    """A job's runs' state machine, as deployed, in moto's interpreter."""

    def __init__(
        self, registered: Registered, construct: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.registered = registered
        machine = registered.resource("AWS::StepFunctions::StateMachine", f"{construct}Runs")
        self.definition = json.loads(machine.properties["DefinitionString"])
        schedule = registered.resource("AWS::Scheduler::Schedule", f"{construct}Retrain")
        self.input_text = schedule.properties["Target"]["Input"]
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sagemaker = boto3.client("sagemaker", region_name=REGION)
        self.sagemaker.create_model_package_group(ModelPackageGroupName=registered.group_name())
        judge_arn = self.definition["States"]["Judge"]["Parameters"]["FunctionName"]
        _function(judge_arn.split(":")[-1])
        self.arn = self.sfn.create_state_machine(
            name=f"{construct}-runs",
            definition=json.dumps(self.definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/runs",
        )["stateMachineArn"]
        self.runtime = lifecycle.Runtime(sagemaker=self.sagemaker)
        #: The final metrics of the next jobs created (repack jobs report none), and
        #: their end.
        self.metrics: dict[str, float] = {}
        self.final = "Completed"
        self.verdicts: list[dict[str, Any]] = []
        monkeypatch.setattr(LambdaBackend, "invoke", self._invoke)
        monkeypatch.setattr(WaitFunction, "_wait_interval", lambda *_, **__: None)
        original = SageMakerModelBackend.create_training_job

        def create(backend: Any, **request: Any) -> Any:
            job = original(backend, **request)
            if not job.training_job_name.endswith("-repack"):
                job.final_metric_data_list = [
                    {"MetricName": k, "Value": v, "Timestamp": job.creation_time}
                    for k, v in self.metrics.items()
                ]
                job.training_job_status = job.secondary_status = self.final
                if self.final == "Failed":
                    job.failure_reason = "AlgorithmError: loss is NaN"
            return job

        monkeypatch.setattr(SageMakerModelBackend, "create_training_job", create)
        tuning = SageMakerModelBackend.create_hyper_parameter_tuning_job

        def create_tuning(backend: Any, **request: Any) -> Any:
            # moto's tuning job completes at once naming a best job it never ran: run it.
            arn = tuning(backend, **request)
            name = request["hyper_parameter_tuning_job_name"]
            definition = request["training_job_definition"]
            best = create(
                backend,
                training_job_name=f"{name}-001-0a1b2c3d",
                hyper_parameters=definition.get("StaticHyperParameters") or {},
                algorithm_specification=dict(definition["AlgorithmSpecification"]),
                role_arn=definition["RoleArn"],
                input_data_config=definition.get("InputDataConfig"),
                output_data_config=definition["OutputDataConfig"],
                resource_config=definition["ResourceConfig"],
                vpc_config=None,
                stopping_condition=definition["StoppingCondition"],
                tags=None,
                enable_network_isolation=False,
                enable_inter_container_traffic_encryption=False,
                enable_managed_spot_training=False,
                checkpoint_config=None,
                debug_hook_config=None,
                debug_rule_configurations=None,
                tensor_board_output_config=None,
                experiment_config=None,
            )
            job = backend.hyper_parameter_tuning_jobs[name]
            job.best_training_job = {
                **job.best_training_job,
                "TrainingJobName": best.training_job_name,
                "TrainingJobArn": best.arn,
            }
            return arn

        monkeypatch.setattr(
            SageMakerModelBackend, "create_hyper_parameter_tuning_job", create_tuning
        )

    def _invoke(self, name: str, qualifier: Any, body: Any, headers: Any, out: Any) -> Any:
        payload = json.loads(body)
        verdict = judge.judge(payload[judge.JUDGE], self.runtime)
        self.verdicts.append(verdict)
        return json.dumps(verdict).encode()

    def run(self, execution_id: str) -> dict[str, Any]:
        """One run, started as the Scheduler starts it: its description once ended."""
        text = self.input_text.replace("<aws.scheduler.execution-id>", execution_id)
        started = self.sfn.start_execution(stateMachineArn=self.arn, input=text, name=execution_id)
        arn = started["executionArn"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.5)
        raise AssertionError("the run did not end")

    def versions(self) -> list[dict[str, Any]]:
        group = self.registered.group_name()
        summaries = self.sagemaker.list_model_packages(ModelPackageGroupName=group)
        return [
            self.sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"])
            for s in summaries["ModelPackageSummaryList"]
        ]


def _function(name: str) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.py", "def handle(event, context):\n    return event\n")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handle",
        Code={"ZipFile": archive.getvalue()},
    )


@pytest.fixture
def judged() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        yield


def test_a_run_that_misses_the_gate_is_registered_rejected_and_fails_saying_why(
    registered: Registered, judged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Runs(registered, "Torch", monkeypatch)
    runs.metrics = {"validation:rmse": 3.1}
    ended = runs.run(EXECUTION_ID)
    assert ended["status"] == "FAILED"
    assert ended["error"] == "QualityGateMissed"
    assert "validation:rmse = 3.1, at most 2.5 allowed" in ended["cause"]
    [version] = runs.versions()
    assert version["ModelApprovalStatus"] == "Rejected"
    assert version["ApprovalDescription"] == ended["cause"]
    run = f"{registered.torch._scheduled_prefix}-{EXECUTION_ID}"
    assert version["CustomerMetadataProperties"] == {
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{run}",
        "Metric.validation:rmse": "3.1",
    }


def test_a_run_that_passes_registers_the_approved_version_served_as_register_model_serves(
    registered: Registered, judged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Runs(registered, "Torch", monkeypatch)
    runs.metrics = {"validation:rmse": 1.5}
    ended = runs.run(EXECUTION_ID)
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    [version] = runs.versions()
    assert version["ModelApprovalStatus"] == "Approved"
    assert version["ApprovalDescription"].endswith(
        "passed the quality gate (final metrics: validation:rmse = 1.5)"
    )
    jobs = sagemaker_backends[ACCOUNT][REGION].training_jobs
    run = f"{registered.torch._scheduled_prefix}-{EXECUTION_ID}"
    repack = jobs[f"{run}-repack"]
    # The run's model went through its own repack job, as the deploy's did ...
    [model_channel] = [c for c in repack.input_data_config if c["ChannelName"] == "model"]
    assert (
        model_channel["DataSource"]["S3DataSource"]["S3Uri"]
        == (jobs[run].model_artifacts["S3ModelArtifacts"])
    )
    [container] = version["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == repack.model_artifacts["S3ModelArtifacts"]
    # ... and serves with the container register_model registers.
    served = registered.stack.resolve(registered.container)
    assert container["Image"] == served["image"]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert version["InferenceSpecification"]["SupportedContentTypes"] == ["application/json"]
    # The run's job is the deploy's, under its own name and checkpoint folder.
    assert json.loads(jobs[run].hyper_parameters["sagemaker_job_name"]) == run
    assert jobs[run].checkpoint_config["S3Uri"].endswith(f"/checkpoints/{run}/")
    [deployed] = [
        j for n, j in registered.engine.sagemaker.jobs.items() if "torch" in n and "repack" not in n
    ]
    assert (
        jobs[run].algorithm_specification["TrainingImage"]
        == (deployed.request["AlgorithmSpecification"]["TrainingImage"])
    )
    sent = dict(jobs[run].hyper_parameters)
    expected = dict(deployed.request["HyperParameters"])
    sent.pop("sagemaker_job_name")
    expected.pop("sagemaker_job_name")
    assert sent == expected


def test_a_job_without_container_registers_its_training_image_past_the_gate(
    registered: Registered, judged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Runs(registered, "Boost", monkeypatch)
    runs.metrics = {"validation:rmse": 2.0}
    assert runs.run("aaaaaaaaaaaaaaaa")["status"] == "SUCCEEDED"
    runs.metrics = {"train:progress": 100.0}  # the gated metric not reported
    ended = runs.run("bbbbbbbbbbbbbbbb")
    assert (ended["status"], ended["error"]) == ("FAILED", "QualityGateMissed")
    assert "validation:rmse was not reported" in ended["cause"]
    versions = runs.versions()
    # A passing run's version waits for a person (the default approval).
    assert sorted(v["ModelApprovalStatus"] for v in versions) == [
        "PendingManualApproval",
        "Rejected",
    ]
    image = registered.stack.resolve(registered.boost.training_image_uri)
    assert {v["InferenceSpecification"]["Containers"][0]["Image"] for v in versions} == {image}


def test_a_tuning_run_registers_its_best_model_past_the_gate(
    registered: Registered, judged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Runs(registered, "Tune", monkeypatch)
    runs.metrics = {"validation:rmse": 4.0}
    ended = runs.run("cccccccccccccccc")
    assert (ended["status"], ended["error"]) == ("FAILED", "QualityGateMissed")
    run = f"{registered.tune._scheduled_prefix}-cccccccccccccccc"
    assert len(run) <= 32
    assert ended["cause"].startswith(f"{run}-001-0a1b2c3d does not pass the quality gate")
    [version] = runs.versions()
    assert version["ModelApprovalStatus"] == "Rejected"
    metadata = version["CustomerMetadataProperties"]
    assert metadata["TuningJobArn"].endswith(f":hyper-parameter-tuning-job/{run}")
    assert metadata["TrainingJobArn"].endswith(f":training-job/{run}-001-0a1b2c3d")
    assert metadata["Metric.validation:rmse"] == "4.0"


def test_a_failed_run_registers_nothing_and_fails_with_the_jobs_reason(
    registered: Registered, judged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Runs(registered, "Boost", monkeypatch)
    runs.final = "Failed"
    ended = runs.run(EXECUTION_ID)
    assert (ended["status"], ended["error"]) == ("FAILED", "TrainingFailed")
    assert "ended Failed" in ended["cause"] and "AlgorithmError: loss is NaN" in ended["cause"]
    assert runs.versions() == []


def test_the_runs_state_machine_may_create_only_the_runs_and_register_in_the_group(
    registered: Registered,
) -> None:
    template = Template.from_stack(registered.stack)
    machine = registered.torch.node.find_child("Runs")
    statements = role_statements(template, registered.stack, machine.role)  # type: ignore[attr-defined]
    text = json.dumps(statements)
    assert f"training-job/{registered.torch._scheduled_prefix}-*" in text
    assert "sagemaker:CreateModelPackage" in text and "sagemaker:UpdateModelPackage" in text
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    [passing] = passes
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    # The execution role no longer registers anything itself.
    execution = role_statements(template, registered.stack, registered.torch.role)
    assert not any("sagemaker:CreateModelPackage" in json.dumps(s) for s in execution)
    assert cfn_lint.problems(registered.template) == []


def _framework_job(stack: Stack, **extra: Any) -> TrainingJob:
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "data")
    return TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_framework("pytorch", "2.5.1", py_version="py311"),
        code=TrainingCode.from_directory("sample_app/code", entry_point="train.py"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        instance_type=InstanceType.of("ml.g5.xlarge"),
        **extra,
    )


def test_a_framework_job_registers_only_with_its_serving_container() -> None:
    stack = Stack(App(), "ml", env=ENV)
    group = ModelPackageGroup(stack, "Registry")
    job = _framework_job(stack)
    with pytest.raises(
        ValueError, match=r"^\[ml/Job\] retrain_on_schedule: container: None is invalid"
    ):
        job.retrain_on_schedule(WEEKLY, register=group)
    other = job.inference_container(entry_point="train.py", instance_type="ml.g5.xlarge")
    foreign = type(other)(image=other.image, model_data_url="s3://elsewhere/model.tar.gz")
    with pytest.raises(ValueError, match="must serve this job's model"):
        job.retrain_on_schedule(WEEKLY, register=group, container=foreign)
    with pytest.raises(ValueError, match=r"container is invalid without register="):
        job.retrain_on_schedule(WEEKLY, container=other)


def test_a_queued_jobs_runs_cannot_register_unjudged() -> None:
    stack = Stack(App(), "ml", env=ENV)
    group = ModelPackageGroup(stack, "Registry")
    queue = TrainingQueue(stack, "Gpus", max_instances=4)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "data")
    job = TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        queue=queue,
    )
    with pytest.raises(ValueError, match=r"is invalid for a queued job"):
        job.retrain_on_schedule(WEEKLY, register=group)


def test_the_newest_approved_version_is_announced_by_the_groups_rule(
    registered: Registered,
) -> None:
    stack = Stack(App(), "serve", env=ENV)
    group = ModelPackageGroup.from_model_package_group_name(stack, "Registry", "house-prices")
    rule = group.on_version_approved("Approved")
    template = Template.from_stack(stack)
    [properties] = [r["Properties"] for r in template.find_resources("AWS::Events::Rule").values()]
    assert properties["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["house-prices"], "ModelApprovalStatus": ["Approved"]},
    }
    assert rule.node.path == "serve/Registry/Approved"
