"""Completion modes: the templates of wait, wait_condition and none; the signalling
Lambda against recorded event shapes; the race of a job that ends before its rule;
the result read; poll spacing; and the timing errors at synth."""

from __future__ import annotations

import copy
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from aws_cdk import App, CfnElement, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from constructs_lib import Completion, TrainingImage, TrainingJob, TrainingOutput
from constructs_lib.handler import signal
from constructs_lib.handler.properties import (
    COMPLETION,
    HANDLE_URL,
    JOB_NAME,
    POLL_INTERVAL,
    RESULT_RESOURCE_TYPE,
    SIGNAL_RESOURCE_TYPE,
    WAIT_TIMEOUT,
)
from tests.fakes import FakeSageMaker
from tests.harness import QUERY_INTERVAL, Framework
from tests.lambda_handler.test_handler_lifecycle import properties as job_properties

HANDLE = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/arn%3Aaws/handle?sig=x"

# An EventBridge "SageMaker Training Job State Change" event as SageMaker sends it
# (its detail mirrors DescribeTrainingJob), after the rule's input transformation.
JOB = "ml-0a1b2c-train-1f2e3d4c5b6a"
RECORDED_DETAIL: dict[str, Any] = {
    "TrainingJobName": JOB,
    "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}",
    "ModelArtifacts": {
        "S3ModelArtifacts": "s3://data/models/ml-0a1b2c-train-1f2e3d4c5b6a/output/model.tar.gz"
    },
    "TrainingJobStatus": "Completed",
    "SecondaryStatus": "Completed",
    "HyperParameters": {"num_round": "100"},
    "AlgorithmSpecification": {
        "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "TrainingInputMode": "File",
    },
    "RoleArn": "arn:aws:iam::123456789012:role/training",
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "CreationTime": 1763900000000,
    "TrainingStartTime": 1763900090000,
    "TrainingEndTime": 1763900500000,
    "LastModifiedTime": 1763900510000,
    "SecondaryStatusTransitions": [
        {"Status": "Starting", "StartTime": 1763900000000, "EndTime": 1763900090000},
        {"Status": "Completed", "StartTime": 1763900500000, "EndTime": 1763900500000},
    ],
    "BillableTimeInSeconds": 410,
    "Tags": {},
}


def event(**detail_changes: Any) -> dict[str, Any]:
    detail = {**copy.deepcopy(RECORDED_DETAIL), **detail_changes}
    return {"handleUrl": HANDLE, "jobName": RECORDED_DETAIL["TrainingJobName"], "detail": detail}


class Recorder:
    def __init__(self) -> None:
        self.signals: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, body: dict[str, Any]) -> None:
        self.signals.append((url, body))


# -- the signalling Lambda ----------------------------------------------------


def test_completed_event_signals_success() -> None:
    put = Recorder()
    outcome = signal.handle_event(event(), put)
    assert outcome.startswith("signalled SUCCESS")
    [(url, body)] = put.signals
    assert url == HANDLE
    assert body["Status"] == "SUCCESS"
    assert body["UniqueId"] == RECORDED_DETAIL["TrainingJobName"]


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_failed_or_stopped_event_signals_failure_with_the_reason(status: str) -> None:
    put = Recorder()
    signal.handle_event(
        event(TrainingJobStatus=status, FailureReason="AlgorithmError: " + "x" * 5000), put
    )
    [(_, body)] = put.signals
    assert body["Status"] == "FAILURE"
    assert f"ended {status}: AlgorithmError" in body["Reason"]
    assert len(body["Reason"]) < 1300  # truncated


def test_duplicated_events_give_the_same_signal() -> None:
    put = Recorder()
    signal.handle_event(event(), put)
    signal.handle_event(event(), put)
    assert put.signals[0] == put.signals[1]  # same UniqueId: the handle keeps one


@pytest.mark.parametrize(
    ("malformed", "why"),
    [
        (None, "not an object"),
        ("text", "not an object"),
        ({}, "no wait condition handle URL"),
        ({"handleUrl": "http://insecure", "jobName": "j", "detail": {}}, "handle URL"),
        ({"handleUrl": HANDLE, "jobName": "j"}, "no detail"),
        ({"handleUrl": HANDLE, "jobName": "j", "detail": "x"}, "no detail"),
        (
            {"handleUrl": HANDLE, "jobName": "j", "detail": {"TrainingJobStatus": "Completed"}},
            "about None",
        ),
        (event(TrainingJobName="someone-else"), "about 'someone-else'"),
        (event(TrainingJobStatus="InProgress"), "'InProgress' is not an end"),
        (event(TrainingJobStatus=None), "None is not an end"),
    ],
)
def test_malformed_events_are_ignored_and_logged(
    malformed: Any, why: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put = Recorder()
    monkeypatch.setattr(signal, "put_signal", put)
    result = signal.handler(malformed, None)
    assert result["outcome"].startswith("ignored")
    assert why in result["outcome"]
    assert put.signals == []
    assert json.loads(capsys.readouterr().out)["outcome"] == result["outcome"]


class _Handle(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None, bytes]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(
            (self.command, self.headers.get("Content-Type"), self.rfile.read(length))
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def handle_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/handle"
    server.shutdown()


def test_put_signal_sends_json_with_an_empty_content_type(handle_server: str) -> None:
    _Handle.received.clear()
    signal.put_signal(handle_server, signal.signal_body("job", "Completed", None))
    [(method, content_type, body)] = _Handle.received
    assert method == "PUT"
    assert content_type == ""
    assert json.loads(body)["Status"] == "SUCCESS"


# -- the handler's resources for wait_condition -------------------------------


@pytest.fixture
def sagemaker_fake() -> FakeSageMaker:
    return FakeSageMaker()


def _created_job(fake: FakeSageMaker, **plan: Any) -> str:
    for key, value in plan.items():
        setattr(fake.plan, key, value)
    framework = Framework(fake)
    props = {**job_properties(), COMPLETION: "created"}
    response = framework.create(props)
    assert response.status == "SUCCESS", response.reason
    return response.physical_id


def test_created_mode_completes_as_soon_as_the_job_exists(sagemaker_fake: FakeSageMaker) -> None:
    sagemaker_fake.plan.polls = 100
    framework = Framework(sagemaker_fake)
    response = framework.create({**job_properties(), COMPLETION: "created"})
    assert response.status == "SUCCESS"
    assert response.polls == 1
    assert len(sagemaker_fake.calls_of("DescribeTrainingJob")) == 1
    assert sagemaker_fake.job(response.physical_id).status == "InProgress"
    assert response.data["TrainingJobArn"].endswith(response.physical_id)
    assert "ModelArtifacts" not in response.data


@pytest.mark.parametrize(
    ("final", "signalled"),
    [("Completed", "SUCCESS"), ("Failed", "FAILURE"), ("Stopped", "FAILURE")],
)
def test_a_job_that_ended_before_its_rule_is_still_signalled(
    sagemaker_fake: FakeSageMaker, final: str, signalled: str
) -> None:
    name = _created_job(sagemaker_fake, polls=0, final=final)
    put = Recorder()
    framework = Framework(sagemaker_fake)
    framework.runtime.put = put
    response = framework.run(
        framework.event(
            "Create",
            {JOB_NAME: name, HANDLE_URL: HANDLE},
            ResourceType=SIGNAL_RESOURCE_TYPE,
        )
    )
    assert response.status == "SUCCESS"
    [(url, body)] = put.signals
    assert (url, body["Status"], body["UniqueId"]) == (HANDLE, signalled, name)


def test_a_running_job_is_left_to_its_rule(sagemaker_fake: FakeSageMaker) -> None:
    name = _created_job(sagemaker_fake, polls=100)
    put = Recorder()
    framework = Framework(sagemaker_fake)
    framework.runtime.put = put
    response = framework.run(
        framework.event(
            "Create", {JOB_NAME: name, HANDLE_URL: HANDLE}, ResourceType=SIGNAL_RESOURCE_TYPE
        )
    )
    assert response.status == "SUCCESS"
    assert put.signals == []


def test_result_reads_the_completed_job_once(sagemaker_fake: FakeSageMaker) -> None:
    name = _created_job(sagemaker_fake, polls=0)
    before = len(sagemaker_fake.calls_of("DescribeTrainingJob"))
    framework = Framework(sagemaker_fake)
    response = framework.run(
        framework.event("Create", {JOB_NAME: name}, ResourceType=RESULT_RESOURCE_TYPE)
    )
    assert response.status == "SUCCESS"
    assert response.data["ModelArtifacts"].endswith(f"/{name}/output/model.tar.gz")
    assert response.data["Metric.validation:rmse"] == "0.25"
    assert len(sagemaker_fake.calls_of("DescribeTrainingJob")) - before == 1


def test_result_of_a_failed_job_fails_with_its_reason(sagemaker_fake: FakeSageMaker) -> None:
    name = _created_job(sagemaker_fake, polls=0, final="Failed", failure_reason="OOM")
    framework = Framework(sagemaker_fake)
    response = framework.run(
        framework.event("Create", {JOB_NAME: name}, ResourceType=RESULT_RESOURCE_TYPE)
    )
    assert response.status == "FAILED"
    assert "ended Failed" in response.reason and "OOM" in response.reason


def test_result_of_a_running_job_waits_for_it(sagemaker_fake: FakeSageMaker) -> None:
    # The job was replaced at deploy time (a value it refers to changed) while its
    # wait condition stayed: the result resource is updated to the new, running job.
    name = _created_job(sagemaker_fake, runtime=900.0)
    framework = Framework(sagemaker_fake)
    response = framework.run(
        framework.event(
            "Update",
            {JOB_NAME: name, WAIT_TIMEOUT: "3300"},
            ResourceType=RESULT_RESOURCE_TYPE,
            PhysicalResourceId="old-job",
            OldResourceProperties={JOB_NAME: "old-job", WAIT_TIMEOUT: "3300"},
        )
    )
    assert response.status == "SUCCESS", response.reason
    assert response.physical_id == name
    assert response.data["ModelArtifacts"].endswith(f"/{name}/output/model.tar.gz")
    assert response.polls == 900 // QUERY_INTERVAL + 1


def test_result_waits_no_longer_than_a_custom_resource_can(
    sagemaker_fake: FakeSageMaker,
) -> None:
    name = _created_job(sagemaker_fake, runtime=5 * 3600.0)
    framework = Framework(sagemaker_fake)
    response = framework.run(
        framework.event(
            "Create", {JOB_NAME: name, WAIT_TIMEOUT: "3300"}, ResourceType=RESULT_RESOURCE_TYPE
        )
    )
    assert response.status == "FAILED"
    assert f"Training job {name} is still InProgress" in response.reason
    assert "creates a new wait condition" in response.reason
    # The first poll past 3300 s, before CloudFormation's hour.
    assert 3300 // QUERY_INTERVAL + 1 <= response.polls <= 3300 // QUERY_INTERVAL + 2


# -- poll spacing in wait mode ------------------------------------------------


@pytest.mark.parametrize(("interval", "describes"), [(30, 21), (120, 6), (300, 3)])
def test_describes_follow_the_poll_interval(interval: int, describes: int) -> None:
    # A job that runs 20 query intervals (600 s) in the fake's simulated time.
    fake = FakeSageMaker()
    fake.plan.polls = 10**6
    framework = Framework(fake)
    props = {**job_properties(), POLL_INTERVAL: str(interval)}
    event_ = framework.event("Create", props)
    poll_event, _ = framework.start(event_)
    name = poll_event["PhysicalResourceId"]
    for poll in range(1, 21):
        if poll == 20:
            fake.job(name).plan = type(fake.plan)(polls=0)
        assert framework.poll(poll_event, poll) is None or poll == 20
        framework.clock.sleep(QUERY_INTERVAL)
    final = framework.poll(poll_event, 21)
    assert final is not None and final.status == "SUCCESS"
    assert len(fake.calls_of("DescribeTrainingJob")) <= describes


# -- templates ----------------------------------------------------------------


class Modes:
    def __init__(self) -> None:
        self.stack = stack = Stack(App(), "Modes")
        bucket = s3.Bucket(stack, "B")

        def job(construct_id: str, completion: Completion, runtime: Duration) -> TrainingJob:
            return TrainingJob(
                stack,
                construct_id,
                image=TrainingImage.from_algorithm("kmeans"),
                output=TrainingOutput.to_bucket(bucket, "models/"),
                max_runtime=runtime,
                completion=completion,
            )

        self.polled = job("Polled", Completion.wait(), Duration.minutes(40))
        self.long = job("Long", Completion.wait_condition(), Duration.hours(10))
        self.fire = job("Fire", Completion.none(), Duration.days(3))
        role = iam.Role(
            stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.model = sagemaker.CfnModel(
            stack,
            "Model",
            execution_role_arn=role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.long.training_image_uri, model_data_url=self.long.model_data_url
            ),
        )
        self.template = Template.from_stack(stack)
        self.json = self.template.to_json()

    def logical_id(self, construct: Any) -> str:
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        return str(self.stack.get_logical_id(element))

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.json["Resources"][self.logical_id(construct)])


@pytest.fixture(scope="module")
def modes() -> Modes:
    return Modes()


def test_wait_mode_polls_at_a_60th_of_the_runtime(modes: Modes) -> None:
    props = modes.resource(modes.polled.resource)["Properties"]
    assert props[POLL_INTERVAL] == 30  # 2400 s / 60 = 40 s, down to a multiple of 30
    assert props["ServiceTimeout"] == "3300"
    assert COMPLETION not in props


def test_wait_condition_mode_template(modes: Modes) -> None:
    job = modes.long
    job_id = modes.logical_id(job.resource)
    props = modes.resource(job.resource)["Properties"]
    assert props[COMPLETION] == "created"
    assert props["ServiceTimeout"] == "1800"
    assert POLL_INTERVAL not in props

    assert job.wait_condition is not None
    condition = modes.resource(job.wait_condition)
    assert condition["Properties"]["Timeout"] == str(10 * 3600 + 900)
    assert condition["Properties"]["Count"] == 1
    assert job_id in condition["DependsOn"]

    rules = modes.template.find_resources("AWS::Events::Rule")
    [rule] = [
        r
        for r in rules.values()
        if r["Properties"]["EventPattern"]["detail"]["TrainingJobName"] == [{"Ref": job_id}]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Training Job State Change"]
    assert pattern["detail"]["TrainingJobStatus"] == ["Completed", "Failed", "Stopped"]
    [target] = rule["Properties"]["Targets"]
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"detail": "$.detail"}
    template_text = json.dumps(transformer["InputTemplate"])
    assert "handleUrl" in template_text and "<detail>" in template_text
    signal_function = modes.stack.get_logical_id(job.provider.signal_function.node.default_child)
    assert target["Arn"] == {"Fn::GetAtt": [signal_function, "Arn"]}

    signals = modes.template.find_resources(SIGNAL_RESOURCE_TYPE)
    [check] = signals.values()
    rule_id = next(k for k, v in rules.items() if v is rule)
    assert rule_id in check["DependsOn"]
    assert check["Properties"][JOB_NAME] == {"Ref": job_id}


def test_dependency_chain_ends_at_the_model(modes: Modes) -> None:
    job = modes.long
    results = modes.template.find_resources(RESULT_RESOURCE_TYPE)
    [(result_id, result)] = results.items()
    assert job.wait_condition is not None
    assert modes.logical_id(job.wait_condition) in result["DependsOn"]
    model = modes.resource(modes.model)
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == {
        "Fn::GetAtt": [result_id, "ModelArtifacts"]
    }
    # Should it have to wait (see test_result_of_a_running_job_waits_for_it): an hour.
    assert result["Properties"]["ServiceTimeout"] == "3600"
    assert result["Properties"][WAIT_TIMEOUT] == 3300
    # The wait's resources are named by what would replace the job.
    key = job.node.find_child("Wait" + job._wait_key())
    assert {c.node.id for c in key.node.children} == {
        "Handle",
        "Condition",
        "SignalIfEnded",
        "Result",
    }
    assert modes.stack.resolve(job.metric("train:loss")) == {
        "Fn::GetAtt": [result_id, "Metric.train:loss"]
    }


def test_none_mode_waits_for_nothing(modes: Modes) -> None:
    job = modes.fire
    props = modes.resource(job.resource)["Properties"]
    assert props[COMPLETION] == "created"
    assert props["TrainingJobRequest"]["StoppingCondition"]["MaxRuntimeInSeconds"] == 3 * 86400
    url = modes.stack.resolve(job.model_data_url)
    assert url["Fn::Join"][1][-1] == "/output/model.tar.gz"
    assert {"Ref": modes.logical_id(job.resource)} in url["Fn::Join"][1]
    with pytest.raises(ValueError, match=r"\[Modes/Fire\] metric: 'rmse' is invalid: with "):
        job.metric("rmse")


def test_one_signal_function_per_stack(modes: Modes) -> None:
    functions = modes.template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.signal.handler"}}
    )
    assert len(functions) == 1


def test_state_change_rules_for_users(modes: Modes) -> None:
    stack = Stack(App(), "Rules")
    job = TrainingJob.from_training_job_name(stack, "Old", "old-job")
    job.on_completed("Done")
    job.on_failed("Broken")
    template = Template.from_stack(stack)
    patterns = sorted(
        json.dumps(r["Properties"]["EventPattern"]["detail"], sort_keys=True)
        for r in template.find_resources("AWS::Events::Rule").values()
    )
    assert patterns == [
        json.dumps(
            {"TrainingJobName": ["old-job"], "TrainingJobStatus": ["Completed"]}, sort_keys=True
        ),
        json.dumps(
            {"TrainingJobName": ["old-job"], "TrainingJobStatus": ["Failed", "Stopped"]},
            sort_keys=True,
        ),
    ]
    metric = job.metric_gpu_utilization(host="algo-2")
    assert metric.namespace == "/aws/sagemaker/TrainingJobs"
    assert metric.dimensions == {"Host": "old-job/algo-2"}


# -- timing errors ------------------------------------------------------------


def _job(**props: Any) -> TrainingJob:
    stack = Stack(App(), "T")
    return TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "B")),
        **props,
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"max_runtime": Duration.hours(3)},
            r"MaxRuntimeInSeconds \(max_runtime\): 10800 is invalid: .*For this job use "
            r"completion=Completion.wait_condition\(\)",
        ),
        (
            {"max_runtime": Duration.hours(12)},
            r"MaxRuntimeInSeconds \(max_runtime\): 43200 is invalid: .*For this job use "
            r"completion=Completion.none\(\)",
        ),
        (
            {"max_runtime": Duration.hours(12), "completion": Completion.wait_condition()},
            r"43200 is invalid: Completion.wait_condition\(\) waits at most 12 hours.*use "
            r"completion=Completion.none\(\)",
        ),
        (
            {
                "max_runtime": Duration.hours(2),
                "completion": Completion.wait_condition(timeout=Duration.hours(13)),
            },
            r"completion.timeout \(completion\): 46800 is invalid: a CloudFormation wait "
            r"condition waits at most 43200 seconds",
        ),
        (
            {
                "max_runtime": Duration.hours(2),
                "completion": Completion.wait_condition(timeout=Duration.hours(1)),
            },
            r"completion.timeout \(completion\): 3600 is invalid: it is shorter than the "
            r"job may run \(7200 s",
        ),
        (
            {"max_runtime": Duration.days(29), "completion": Completion.none()},
            r"2505600 is invalid: SageMaker runs a job for 28 days at most",
        ),
    ],
)
def test_timing_errors_propose_the_right_mode(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _job(**props)


def test_spot_jobs_are_timed_by_their_max_wait() -> None:
    job = _job(
        spot_training=True,
        max_runtime=Duration.hours(2),
        max_wait=Duration.hours(6),
        completion=Completion.wait_condition(),
    )
    assert job.wait_condition is not None
    condition = Stack.of(job).resolve(job.wait_condition.timeout)
    assert condition == str(6 * 3600 + 900)
