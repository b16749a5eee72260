"""ProcessingJob at synth: the CreateProcessingJob request it renders (validated
against botocore's model), the code's layout as the SDK's FrameworkProcessor sends
it, each output's per-job folder, the grants (execution role, provider), the report
and its gate, training on what it prepared, and the clear errors of bad input. One
app for the module's template assertions and its snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Size, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import (
    Completion,
    EvaluationReport,
    InstanceType,
    JobCode,
    MetricThreshold,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    TrainingCode,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)
from constructs_lib._shared.schema import load
from constructs_lib._shared.schema.validate import Validator
from constructs_lib.handler.kinds import PROCESSING
from constructs_lib.handler.properties import NAMED_LOCATIONS, QUALITY_GATE, REPORT
from constructs_lib.processing import runproc_script
from constructs_lib.testing import TemplateSnapshotExtension, normalize_template
from tests.iam import role_statements

ENV = Environment(account="123456789012", region="us-east-1")
REPORT_SPEC = EvaluationReport(
    output="evaluation", path="evaluation.json", metrics={"mse": "regression_metrics.mse.value"}
)


@dataclass
class Pipeline:
    stack: Stack
    template: Template
    prepare: ProcessingJob
    train: TrainingJob
    evaluate: ProcessingJob
    key: kms.Key

    def resource(self, job: Any) -> dict[str, Any]:
        logical_id = self.stack.get_logical_id(job.resource.node.default_child)
        resource: dict[str, Any] = self.template.to_json()["Resources"][logical_id]
        return resource


def _code(tmp: Path) -> Path:
    folder = tmp / "code"
    folder.mkdir(exist_ok=True)
    (folder / "evaluate.py").write_text("print('evaluating')\n")
    (folder / "requirements.txt").write_text("scikit-learn\n")
    return folder


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    code = _code(tmp_path_factory.mktemp("processing"))
    stack = Stack(App(), "Pipeline", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    key = kms.Key(stack, "OutputKey")
    prepare = ProcessingJob(
        stack,
        "Prepare",
        image=TrainingImage.from_framework("sklearn", "1.2-1"),
        code=JobCode.from_directory(str(code), entry_point="evaluate.py"),
        command=["python3"],
        inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
        outputs=[
            ProcessingOutput.to_bucket("train", bucket, "prepared"),
            ProcessingOutput.to_bucket("test", bucket, "prepared/"),
        ],
        arguments=["--test-split", "0.2"],
        environment={"MODE": "prepare"},
        instance_type=InstanceType.of("ml.c5.xlarge"),
        volume_size=Size.gibibytes(50),
        max_runtime=Duration.minutes(20),
    )
    train = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_processing_output("train", prepare, "train")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": "10", "objective": "reg:squarederror"},
    )
    evaluate = ProcessingJob(
        stack,
        "Evaluate",
        image=TrainingImage.from_framework("sklearn", "1.2-1"),
        code=TrainingCode.from_directory(str(code), entry_point="evaluate.py"),
        inputs=[
            ProcessingInput.from_training_job("model", train),
            ProcessingInput.from_processing_output("test", prepare, "test"),
        ],
        outputs=[ProcessingOutput.to_bucket("evaluation", bucket, "evaluation/")],
        output_encryption_key=key,
        report=REPORT_SPEC,
        quality_gate=[MetricThreshold("mse", at_most=4.0)],
    )
    return Pipeline(stack, Template.from_stack(stack), prepare, train, evaluate, key)


def test_the_request_is_the_apis(pipeline: Pipeline) -> None:
    validator = Validator(load("CreateProcessingJob"))
    for job in (pipeline.prepare, pipeline.evaluate):
        request = {"ProcessingJobName": "generated", **pipeline.stack.resolve(job.request)}
        assert validator.problems(request) == []
    request = pipeline.stack.resolve(pipeline.prepare.request)
    assert request["ProcessingResources"] == {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 50}
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 1200}
    assert request["Environment"] == {"MODE": "prepare"}
    assert request["AppSpecification"]["ImageUri"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert request["AppSpecification"]["ContainerArguments"] == ["--test-split", "0.2"]


def test_the_code_goes_as_the_sdks_framework_processor_sends_it(pipeline: Pipeline) -> None:
    request = pipeline.stack.resolve(pipeline.prepare.request)
    names = [i["InputName"] for i in request["ProcessingInputs"]]
    assert names == ["raw", "code", "entrypoint"]
    code, entrypoint = request["ProcessingInputs"][1:]
    assert code["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code/"
    assert entrypoint["S3Input"]["LocalPath"] == "/opt/ml/processing/input/entrypoint"
    # SageMaker downloads an object under the last part of its key: the script and the
    # archive are run and unpacked by those names.
    archive = code["S3Input"]["S3Uri"].rsplit("/", 1)[-1]
    script = entrypoint["S3Input"]["S3Uri"].rsplit("/", 1)[-1]
    assert archive.endswith(".gz") and script.endswith(".sh")
    assert request["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/bash",
        f"/opt/ml/processing/input/entrypoint/{script}",
    ]
    bound = pipeline.prepare._code
    assert bound is not None
    assert bound.runproc == runproc_script(["python3"], "evaluate.py", archive)
    assert f"tar -xzf {archive}\n" in bound.runproc
    assert bound.runproc.rstrip().endswith('python3 evaluate.py "$@"')


def test_each_output_has_a_folder_per_job(pipeline: Pipeline) -> None:
    properties = pipeline.resource(pipeline.prepare)["Properties"]
    locations = pipeline.stack.resolve(properties[NAMED_LOCATIONS])
    train = locations["ProcessingOutputConfig.Outputs.0.S3Output.S3Uri"]
    test = locations["ProcessingOutputConfig.Outputs.1.S3Output.S3Uri"]
    # "prepared" gains its slash; "prepared/" keeps it.
    assert train["Prefix"]["Fn::Join"][1][-1] == "/prepared/"
    assert test["Prefix"]["Fn::Join"][1][-1] == "/prepared/"
    assert (train["Suffix"], test["Suffix"]) == ("/train", "/test")


def test_consumers_wait_for_the_outputs(pipeline: Pipeline) -> None:
    stack = pipeline.stack
    prepare = stack.get_logical_id(pipeline.prepare.resource.node.default_child)
    train = stack.get_logical_id(pipeline.train.resource.node.default_child)
    channel = stack.resolve(pipeline.train.request)["InputDataConfig"][0]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Fn::GetAtt": [prepare, "Output.train"]
    }
    inputs = stack.resolve(pipeline.evaluate.request)["ProcessingInputs"]
    assert inputs[0]["S3Input"]["S3Uri"] == {"Fn::GetAtt": [train, "ModelArtifacts"]}
    assert inputs[1]["S3Input"]["S3Uri"] == {"Fn::GetAtt": [prepare, "Output.test"]}


def test_the_report_and_its_gate_reach_the_handler(pipeline: Pipeline) -> None:
    properties = pipeline.resource(pipeline.evaluate)["Properties"]
    assert properties[REPORT] == {
        "Output": "evaluation",
        "Path": "evaluation.json",
        "Metrics": {"mse": "regression_metrics.mse.value"},
    }
    assert properties[QUALITY_GATE] == [{"Metric": "mse", "AtMost": 4}]
    evaluate = pipeline.stack.get_logical_id(pipeline.evaluate.resource.node.default_child)
    assert pipeline.stack.resolve(pipeline.evaluate.metric("mse")) == {
        "Fn::GetAtt": [evaluate, "Metric.mse"]
    }
    assert pipeline.stack.resolve(pipeline.evaluate.report_uri) == {
        "Fn::GetAtt": [evaluate, "ReportUri"]
    }


def test_the_execution_roles_read_inputs_and_write_outputs(pipeline: Pipeline) -> None:
    stack, template = pipeline.stack, pipeline.template
    prepare = role_statements(template, stack, pipeline.prepare.role)
    puts = [s for s in prepare if "s3:PutObject" in s["Action"]]
    written = sorted(r["Fn::Join"][1][-1] for p in puts for r in _listed(p["Resource"]))
    assert written == ["/prepared*", "/prepared/*"]
    evaluate = role_statements(template, stack, pipeline.evaluate.role)
    gets = [s for s in evaluate if s["Action"] == "s3:GetObject"]
    resources = [r["Fn::Join"][1][-1] for s in gets for r in _listed(s["Resource"])]
    # The code, its script, every job's artifacts under models/ (not this job's name:
    # the provider passes this role), the prepared test data.
    assert "/models/*" in resources and "/prepared/*" in resources
    assert any(r.endswith(".gz") for r in resources) and any(r.endswith(".sh") for r in resources)
    encrypts = [s for s in evaluate if "kms:GenerateDataKey*" in _listed(s["Action"])]
    assert encrypts, "the output key encrypts what the job writes"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_provider_acts_on_this_stacks_processing_jobs_and_reads_reports(
    pipeline: Pipeline,
) -> None:
    provider = pipeline.evaluate.provider
    statements = role_statements(pipeline.template, pipeline.stack, provider.role)
    [processing] = [
        s for s in statements if "sagemaker:CreateProcessingJob" in _listed(s["Action"])
    ]
    assert "sagemaker:StopProcessingJob" in processing["Action"]
    [arn] = _listed(processing["Resource"])
    assert arn["Fn::Join"][1][-1] == ":sagemaker:us-east-1:123456789012:processing-job/" + (
        f"{provider.job_name_prefix}-*"
    )
    [report] = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert report["Resource"]["Fn::Join"][1][-1] == "/evaluation/*/evaluation/evaluation.json"
    # Listing the output's prefix: S3 answers a missing report NoSuchKey, not AccessDenied.
    [listing] = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["evaluation/*"]}}
    decrypts = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypts, "the provider decrypts the report the output key encrypted"
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    passed = [r for s in passes for r in _listed(s["Resource"])]
    roles = [
        pipeline.stack.resolve(job.role.role_arn)
        for job in (pipeline.prepare, pipeline.train, pipeline.evaluate)
    ]
    assert sorted(map(str, passed)) == sorted(map(str, roles))  # the three jobs' roles


def test_processing_roles_get_the_processing_log_group(pipeline: Pipeline) -> None:
    pipeline.template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Description": "What every SageMaker processing job of this stack needs alike",
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "cloudwatch:PutMetricData",
                                "Condition": {
                                    "StringEquals": {
                                        "cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"
                                    }
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


def test_the_resource_type(pipeline: Pipeline) -> None:
    pipeline.template.resource_count_is(PROCESSING.resource_type, 2)


def test_the_pipeline_snapshot(pipeline: Pipeline, snapshot: SnapshotAssertion) -> None:
    assert normalize_template(pipeline.template.to_json()) == snapshot.use_extension(
        TemplateSnapshotExtension
    )


# -- errors: each names the construct, the prop, the value and the rule ---------------


def _stack() -> tuple[Stack, s3.Bucket]:
    stack = Stack(App(), "Bad", env=ENV)
    return stack, s3.Bucket(stack, "Data")


IMAGE = TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"report": EvaluationReport(output="evaluatoin", path="e.json", metrics={"m": "a"})},
            r"report\.output \(report\): 'evaluatoin' is invalid: must name an S3 output of "
            r"the job \(evaluation\)\. Did you mean 'evaluation'\?",
        ),
        (
            {"report": EvaluationReport(output="evaluation", path="../e.json", metrics={"m": "a"})},
            r"report\.path \(report\): '\.\./e\.json' is invalid: must be a file's path",
        ),
        (
            {"report": EvaluationReport(output="evaluation", path="e.json", metrics={"m": "a..b"})},
            r"report\.metrics\.m \(report\): 'a\.\.b' is invalid: 'a\.\.b' is not a JSON path",
        ),
        (
            {"quality_gate": [MetricThreshold("mse", at_most=1.0)]},
            r"quality_gate \(quality_gate\): \['mse'\] is invalid: a processing job's gate "
            r"bounds the metrics of its report: set report",
        ),
        (
            {"report": REPORT_SPEC, "quality_gate": [MetricThreshold("rmse", at_most=1.0)]},
            r"quality_gate \(quality_gate\): 'rmse' is invalid: bounds a metric of the report "
            r"\(mse\)",
        ),
        (
            {"report": REPORT_SPEC, "completion": Completion.none()},
            r"report \(report\): 'evaluation' is invalid: with Completion\.none\(\)",
        ),
        (
            {"instance_count": 0},
            r"ProcessingResources\.ClusterConfig\.InstanceCount \(instance_count\): 0 is "
            r"invalid: must be at least 1",
        ),
        (
            {"max_runtime": Duration.hours(2)},
            r"StoppingCondition\.MaxRuntimeInSeconds \(max_runtime\): 7200 is invalid: the "
            r"deployment waits for the job",
        ),
        (
            {"max_runtime": Duration.days(10), "completion": Completion.none()},
            r"SageMaker runs a job for 9 days at most",
        ),
        (
            {"environment": {"": "x"}},
            r"Environment",
        ),
    ],
    ids=[
        "report-output",
        "report-path",
        "report-json-path",
        "gate-without-report",
        "gate-metric",
        "report-without-waiting",
        "instance-count",
        "runtime-for-waiting",
        "runtime-limit",
        "api-rule",
    ],
)
def test_bad_input_is_a_clear_synth_error(props: dict[str, Any], message: str) -> None:
    stack, bucket = _stack()
    with pytest.raises(ValueError, match=message) as raised:
        ProcessingJob(
            stack,
            "Evaluate",
            image=IMAGE,
            outputs=[ProcessingOutput.to_bucket("evaluation", bucket, "evaluation/")],
            **props,
        )
    assert str(raised.value).startswith("[Bad/Evaluate] ")


def test_an_input_named_like_the_codes_is_refused(tmp_path: Path) -> None:
    stack, bucket = _stack()
    code = _code(tmp_path)
    with pytest.raises(ValueError, match=r"the inputs \['code', 'entrypoint'\] bring the job's"):
        ProcessingJob(
            stack,
            "Evaluate",
            image=IMAGE,
            code=TrainingCode.from_directory(str(code), entry_point="evaluate.py"),
            inputs=[ProcessingInput.from_bucket("code", bucket, "x/")],
        )


def test_an_unknown_output_is_named_with_the_known_ones() -> None:
    stack, bucket = _stack()
    job = ProcessingJob(
        stack,
        "Prepare",
        image=IMAGE,
        outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/")],
    )
    with pytest.raises(ValueError, match=r"\[Bad/Prepare\] output_uri: 'test' is invalid: the "):
        job.output_uri("test")
    with pytest.raises(ValueError, match=r"metric: 'mse' is invalid: the job's metrics are"):
        job.metric("mse")


def test_a_vpc_job_gets_its_network_and_a_security_group() -> None:
    stack, bucket = _stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0)
    vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    job = ProcessingJob(
        stack,
        "Prepare",
        image=IMAGE,
        vpc=vpc,
        network_isolation=True,
        outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/")],
    )
    network = stack.resolve(job.request)["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True
    assert set(network["VpcConfig"]) == {"SecurityGroupIds", "Subnets"}
    assert len(job.connections.security_groups) == 1


def test_a_registered_version_carries_the_evaluations_report() -> None:
    from constructs_lib import ModelPackageGroup  # noqa: PLC0415

    stack = Stack(App(), "Registry", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    train = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": "10"},
    )
    evaluate = ProcessingJob(
        stack,
        "Evaluate",
        image=IMAGE,
        inputs=[ProcessingInput.from_training_job("model", train)],
        outputs=[ProcessingOutput.to_bucket("evaluation", bucket, "evaluation/")],
        report=REPORT_SPEC,
        quality_gate=[MetricThreshold("mse", at_most=4.0)],
    )
    group = ModelPackageGroup(stack, "Group")
    plain = ProcessingJob(stack, "Plain", image=IMAGE)
    with pytest.raises(ValueError, match=r"evaluation Registry/Plain is invalid: it must be a "):
        train.register_model(group, evaluation=plain)

    train.register_model(group, evaluation=evaluate)

    evaluated = stack.get_logical_id(evaluate.resource.node.default_child)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::ModelPackage",
        {
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": {"Fn::GetAtt": [evaluated, "ReportUri"]},
                    }
                }
            },
            "CustomerMetadataProperties": Match.object_like(
                {
                    "EvaluationJobArn": {"Fn::GetAtt": [evaluated, "ProcessingJobArn"]},
                    "Evaluation.mse": {"Fn::GetAtt": [evaluated, "Metric.mse"]},
                }
            ),
        },
    )


def test_tags_of_reach_the_jobs_request() -> None:
    from aws_cdk import Tags  # noqa: PLC0415

    stack, bucket = _stack()
    job = ProcessingJob(
        stack,
        "Prepare",
        image=IMAGE,
        outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/")],
        tags={"team": "ml"},
    )
    Tags.of(stack).add("cost-center", "4711")

    properties = Template.from_stack(stack).find_resources(PROCESSING.resource_type)
    [resource] = properties.values()
    tags = resource["Properties"]["ProcessingJobRequest"]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ml", "cost-center": "4711"}
    assert job.tags.tag_values() == {"team": "ml", "cost-center": "4711"}


def test_state_changes_and_a_job_nothing_waits_for() -> None:
    from aws_cdk import aws_events as events  # noqa: PLC0415

    stack, bucket = _stack()
    job = ProcessingJob(
        stack,
        "Prepare",
        image=IMAGE,
        outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared")],
        completion=Completion.none(),
    )
    rule = job.on_state_change("Ended", statuses=["Failed", "Stopped"])
    assert isinstance(rule, events.Rule)
    job.on_completed("Done")
    logical_id = stack.get_logical_id(job.resource.node.default_child)
    # Nothing waits: the output is where the job will write it, under its name.
    bucket_id = stack.get_logical_id(bucket.node.default_child)
    assert stack.resolve(job.output_uri("train")) == {
        "Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/prepared/", {"Ref": logical_id}, "/train"]]
    }
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Processing Job State Change"],
                "detail": {
                    "ProcessingJobName": [{"Ref": logical_id}],
                    "ProcessingJobStatus": ["Failed", "Stopped"],
                },
            }
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "detail-type": ["SageMaker Processing Job State Change"],
                "detail": {
                    "ProcessingJobName": [{"Ref": logical_id}],
                    "ProcessingJobStatus": ["Completed"],
                },
            }
        },
    )
    properties = template.find_resources(PROCESSING.resource_type)[logical_id]["Properties"]
    assert properties["CompletionMode"] == "created"
