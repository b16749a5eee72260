"""Retraining on a schedule (issue 31, section 3), runs that register nothing: the
schedule's input, once the stack is deployed and the Scheduler substituted its context
attribute, is a valid CreateTrainingJob (CreateHyperParameterTuningJob) request by
botocore's model and the request the deploy's job was created with, but for the name
(and what holds it: ``sagemaker_job_name``, the checkpoint folder); the schedule's role
may create jobs of the runs' prefix and pass the execution role only; the job's rules
see the runs, its wait does not; an app that schedules nothing loads no
``aws_scheduler``. Runs that register: tests/schedule/test_scheduled_runs.py."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk.assertions import Template

from benchmarks.run import promotion_modules_loaded
from constructs_lib import (
    Completion,
    ContinuousRange,
    FairShare,
    HyperparameterTuningJob,
    MetricDefinition,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)
from constructs_lib.handler.properties import LIBRARY_TAGS
from tests import cfn_lint
from tests.cloudformation import Engine
from tests.fakes import Plan, validate
from tests.iam import role_statements

ENV = Environment(account="123456789012", region="us-east-1")
EXECUTION_ID = "d32c5kddcf5bb8c3"  # as the Scheduler's documentation shows one
NIGHTLY = scheduler.ScheduleExpression.cron(hour="3", minute="0")
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
BATCH = botocore.session.get_session().get_service_model("batch")


class Scheduled:
    """A script-mode job retrained nightly, and a tuning job retrained weekly, each
    stack deployed on the fakes."""

    def __init__(self) -> None:
        app = App()
        self.stack = stack = Stack(app, "ml", env=ENV)
        bucket = s3.Bucket(stack, "Data")
        self.job = TrainingJob(
            stack,
            "Train",
            image=TrainingImage.from_framework("sklearn", "1.2-1"),
            code=TrainingCode.from_directory("sample_app/code", entry_point="train.py"),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "models/"),
            hyperparameters={"n-estimators": 200},
            tags={"team": "ml"},
            completion=Completion.wait_condition(),
        )
        self.rule = self.job.on_completed("Trained")  # made before the schedule
        self.job.retrain_on_schedule(NIGHTLY)
        self.template = dict(app.synth().get_stack_artifact(stack.artifact_id).template)
        self.engine = Engine()
        self.engine.sagemaker.plan = Plan(runtime=600.0)
        assert self.engine.deploy(self.template) == "CREATE_COMPLETE", self.engine.failed()
        # A tuning job retrained weekly, in a stack of its own (the engine creates one
        # resource at a time: two waited jobs of one stack would wait in turn).
        tuned_app = App()
        tuned = Stack(tuned_app, "tuned", env=ENV)
        bucket = s3.Bucket(tuned, "Data")
        self.tuning = HyperparameterTuningJob(
            tuned,
            "Tune",
            training=TrainingDefinition(
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                metric_definitions=[MetricDefinition("validation:rmse", r"rmse:([0-9.]+)")],
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[ContinuousRange("eta", 0.1, 0.5)],
        )
        self.tuning.retrain_on_schedule(scheduler.ScheduleExpression.rate(Duration.days(7)))
        self.tuned_template = dict(tuned_app.synth().get_stack_artifact(tuned.artifact_id).template)
        self.tuned_engine = Engine()
        assert self.tuned_engine.deploy(self.tuned_template) == "CREATE_COMPLETE"

    def schedule(self, construct: str) -> dict[str, Any]:
        engine = self.tuned_engine if construct == "Tune" else self.engine
        [state] = [
            s
            for k, s in engine.resources.items()
            if s.type == "AWS::Scheduler::Schedule" and k.startswith(construct)
        ]
        return state.properties

    def run(self, construct: str) -> dict[str, Any]:
        """The request one scheduled run sends, as the Scheduler substitutes it."""
        text = self.schedule(construct)["Target"]["Input"]
        assert "<aws.scheduler.execution-id>" in text
        run: dict[str, Any] = json.loads(text.replace("<aws.scheduler.execution-id>", EXECUTION_ID))
        return run


@pytest.fixture(scope="module")
def scheduled() -> Scheduled:
    return Scheduled()


def _without_library_tags(request: dict[str, Any]) -> dict[str, Any]:
    tags = [t for t in request.get("Tags", []) if t["Key"] not in LIBRARY_TAGS]
    rest = {k: v for k, v in request.items() if k != "Tags"}
    return {**rest, "Tags": tags} if tags else rest


def test_a_scheduled_run_sends_the_jobs_own_request_under_its_own_name(
    scheduled: Scheduled,
) -> None:
    run = scheduled.run("Train")
    validate(SAGEMAKER.operation_model("CreateTrainingJob"), run)
    prefix = scheduled.job._scheduled_prefix
    assert prefix is not None
    name = f"{prefix}-{EXECUTION_ID}"
    assert run["TrainingJobName"] == name and len(name) <= 63
    # The name the toolkit reads is the run's, as the handler fills in the deploy's.
    assert json.loads(run["HyperParameters"]["sagemaker_job_name"]) == name
    # Nothing registers a version behind the quality gate's back.
    assert "ModelPackageConfig" not in run
    [deployed] = scheduled.engine.sagemaker.jobs.values()
    expected = _without_library_tags(deployed.request)
    for request in (run, expected):
        request.pop("TrainingJobName")
        request["HyperParameters"].pop("sagemaker_job_name")
    assert run == expected
    target = scheduled.schedule("Train")["Target"]
    assert target["Arn"].endswith(":scheduler:::aws-sdk:sagemaker:createTrainingJob")


def test_a_scheduled_tuning_run_fits_the_tuning_name(scheduled: Scheduled) -> None:
    run = scheduled.run("Tune")
    validate(SAGEMAKER.operation_model("CreateHyperParameterTuningJob"), run)
    assert len(run["HyperParameterTuningJobName"]) <= 32
    [deployed] = scheduled.tuned_engine.sagemaker.tuning_jobs.values()
    expected = _without_library_tags(deployed.request)
    for request in (run, expected):
        request.pop("HyperParameterTuningJobName")
    assert run == expected


def test_the_schedules_role_creates_the_runs_and_passes_the_execution_role_only(
    scheduled: Scheduled,
) -> None:
    template = Template.from_stack(scheduled.stack)
    role = scheduled.job.node.find_child("ScheduleRole")
    statements = role_statements(template, scheduled.stack, role)  # type: ignore[arg-type]
    by_action = {json.dumps(s["Action"]): s for s in statements}
    create = by_action[json.dumps(["sagemaker:CreateTrainingJob", "sagemaker:AddTags"])]
    assert json.dumps(create["Resource"]).endswith(
        f':training-job/{scheduled.job._scheduled_prefix}-*"]]}}'
    )
    passing = by_action[json.dumps("iam:PassRole")]
    assert passing["Resource"] == scheduled.stack.resolve(scheduled.job.role.role_arn)
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert len(statements) == 2


def test_the_jobs_rules_see_the_runs_and_its_wait_does_not(scheduled: Scheduled) -> None:
    rules = {
        k: r["Properties"]["EventPattern"]["detail"]["TrainingJobName"]
        for k, r in scheduled.template["Resources"].items()
        if r["Type"] == "AWS::Events::Rule" and k.startswith("Train")
    }
    prefix = {"prefix": f"{scheduled.job._scheduled_prefix}-"}
    [trained] = [names for k, names in rules.items() if k.startswith("TrainTrained")]
    assert prefix in trained
    # The wait condition's rule ("Ended"): a run's end must not end the deploy's wait.
    waits = [names for k, names in rules.items() if k.startswith("TrainEnded")]
    assert waits and all(prefix not in names for names in waits)


def test_the_template_passes_cloudformations_schemas(scheduled: Scheduled) -> None:
    assert cfn_lint.problems(scheduled.template) == []
    assert cfn_lint.problems(scheduled.tuned_template) == []


def test_a_queued_jobs_runs_are_submitted_to_its_queue() -> None:
    # As the deploy submits the job: the CreateTrainingJob request (without tags) as
    # the service request payload, the tags as Batch's, the queue, priority and share.
    app = App()
    stack = Stack(app, "fleet", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    queue = TrainingQueue(
        stack, "Gpus", max_instances=4, fair_share=FairShare(shares={"vision": 1})
    )
    job = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": 100},
        queue=queue,
        share="vision",
        scheduling_priority=50,
        tags={"team": "vision"},
    )
    job.retrain_on_schedule(NIGHTLY)
    template = dict(app.synth().get_stack_artifact(stack.artifact_id).template)
    assert cfn_lint.problems(template) == []
    engine = Engine()
    engine.sagemaker.plan = Plan(runtime=600.0)
    assert engine.deploy(template) == "CREATE_COMPLETE", engine.failed()
    [schedule] = [s for s in engine.resources.values() if s.type == "AWS::Scheduler::Schedule"]
    assert schedule.properties["Target"]["Arn"].endswith(
        ":scheduler:::aws-sdk:batch:submitServiceJob"
    )
    text = schedule.properties["Target"]["Input"].replace(
        "<aws.scheduler.execution-id>", EXECUTION_ID
    )
    submission = json.loads(text)
    validate(BATCH.operation_model("SubmitServiceJob"), submission)
    run = json.loads(submission.pop("serviceRequestPayload"))
    validate(SAGEMAKER.operation_model("CreateTrainingJob"), run)
    [deployed] = engine.batch.jobs.values()
    sent = dict(deployed.params)
    expected = json.loads(sent.pop("serviceRequestPayload"))
    name = f"{job._scheduled_prefix}-{EXECUTION_ID}"
    assert run.pop("TrainingJobName") == name
    expected.pop("TrainingJobName")
    assert run == expected
    assert submission == {
        "jobName": name,
        "jobQueue": sent["jobQueue"],
        "serviceJobType": "SAGEMAKER_TRAINING",
        "tags": {"team": "vision"},
        "schedulingPriority": 50,
        "shareIdentifier": "vision",
    }
    # The role: submit to that queue, tag the service jobs, pass the execution role.
    role = job.node.find_child("ScheduleRole")
    statements = role_statements(Template.from_stack(stack), stack, role)  # type: ignore[arg-type]
    actions = sorted(json.dumps(s["Action"]) for s in statements)
    assert actions == ['"batch:SubmitServiceJob"', '"batch:TagResource"', '"iam:PassRole"']


def test_a_second_schedule_is_refused() -> None:
    stack = Stack(App(), "ml", env=ENV)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "data")
    job = TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
    )
    job.retrain_on_schedule(NIGHTLY)
    with pytest.raises(
        ValueError, match=r"\[ml/Job\] retrain_on_schedule: the job has a schedule already"
    ):
        job.retrain_on_schedule(NIGHTLY)


def test_an_app_that_schedules_nothing_loads_no_scheduler() -> None:
    # The probe make bench reports (a fresh interpreter building a one-job app).
    assert promotion_modules_loaded() == []
