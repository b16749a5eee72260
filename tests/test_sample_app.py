"""The sample app: snapshot of its template, and the training -> model chain."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.testing import (
    ASSET_HASH_PLACEHOLDER,
    TemplateSnapshotExtension,
    normalize_template,
    stack_template,
)
from sample_app.app import build_app
from tests.flags import FLAG_SETS, RECOMMENDED, ROOT


@pytest.fixture(scope="module", params=FLAG_SETS.keys())
def stack(request: pytest.FixtureRequest) -> Stack:
    """The sample's stack, without feature flags and with those of its cdk.json (what
    ``cdk synth`` uses): every test of this module runs on both."""
    app = build_app(App(context={"sample:region": "us-east-1", **FLAG_SETS[request.param]}))
    found = app.node.find_child("TrainAndServe")
    assert isinstance(found, Stack)
    return found


@pytest.fixture(scope="module")
def template(stack: Stack) -> dict[str, Any]:
    return dict(Template.from_stack(stack).to_json())


def test_template_snapshot(stack: Stack, snapshot: SnapshotAssertion) -> None:
    assert stack_template(stack) == snapshot.use_extension(TemplateSnapshotExtension)


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = [
        (k, v) for k, v in template["Resources"].items() if v["Type"] == kind
    ]
    return logical_id, resource


def test_training_feeds_model_config_and_endpoint(template: dict[str, Any]) -> None:
    job_id, job = _only(template, "Custom::SageMakerTrainingJob")
    model_id, model = _only(template, "AWS::SageMaker::Model")
    config_id, config = _only(template, "AWS::SageMaker::EndpointConfig")
    _, endpoint = _only(template, "AWS::SageMaker::Endpoint")
    container = model["Properties"]["PrimaryContainer"]
    # GetAtt on the job: CloudFormation creates the model only after training completed.
    assert container["ModelDataUrl"] == {"Fn::GetAtt": [job_id, "ModelArtifacts"]}
    assert (
        container["Image"]
        == job["Properties"]["TrainingJobRequest"]["AlgorithmSpecification"]["TrainingImage"]
    )
    variant = config["Properties"]["ProductionVariants"][0]
    assert variant["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    assert endpoint["Properties"]["EndpointConfigName"] == {
        "Fn::GetAtt": [config_id, "EndpointConfigName"]
    }


def test_training_runs_isolated_and_encrypted(template: dict[str, Any]) -> None:
    _, job = _only(template, "Custom::SageMakerTrainingJob")
    request = job["Properties"]["TrainingJobRequest"]
    key_id, _ = _only(template, "AWS::KMS::Key")
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == key_arn
    assert request["OutputDataConfig"]["KmsKeyId"] == key_arn
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 1800,
        "MaxWaitTimeInSeconds": 2700,
    }
    assert request["CheckpointConfig"]["S3Uri"]["Fn::Join"][1][-1] == "/checkpoints/"
    metrics = request["AlgorithmSpecification"]["MetricDefinitions"]
    assert [m["Name"] for m in metrics] == ["validation:rmse"]
    assert request["AlgorithmSpecification"]["TrainingImage"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    subnets = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::EC2::Subnet"}
    assert {s["Ref"] for s in request["VpcConfig"]["Subnets"]} == subnets
    # No way out but the S3 gateway endpoint.
    kinds = {v["Type"] for v in template["Resources"].values()}
    assert "AWS::EC2::NatGateway" not in kinds
    assert "AWS::EC2::InternetGateway" not in kinds
    _, endpoint = _only(template, "AWS::EC2::VPCEndpoint")
    assert endpoint["Properties"]["ServiceName"] == {
        "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]
    }


def test_data_ships_with_the_app(template: dict[str, Any]) -> None:
    _, job = _only(template, "Custom::SageMakerTrainingJob")
    channels = job["Properties"]["TrainingJobRequest"]["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["train", "validation"]
    for channel in channels:
        uri = json.dumps(channel["DataSource"]["S3DataSource"]["S3Uri"])
        assert "cdk-hnb659fds-assets" in uri and ".csv" in uri


def test_snapshot_normalises_only_asset_hashes(template: dict[str, Any]) -> None:
    code = next(
        v["Properties"]["Code"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::Lambda::Function"
    )
    assert normalize_template(code)["S3Key"] == f"{ASSET_HASH_PLACEHOLDER}.zip"
    # Everything that is not a hash stays as it is.
    assert normalize_template({"a": ["x" * 64, 3, True]}) == {"a": ["x" * 64, 3, True]}


def test_sample_synthesizes_without_warnings(stack: Stack) -> None:
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert [w.entry.data for w in warnings] == []


def test_composition_consumes_another_stacks_vpc_key_and_bucket() -> None:
    app = build_app(App(context={"sample:region": "us-east-1", "sample:composition": "true"}))
    assert sorted(child.node.id for child in app.node.children if isinstance(child, Stack)) == [
        "SharedData",
        "TrainAndServe",
    ]
    shared, train = (app.node.find_child(name) for name in ("SharedData", "TrainAndServe"))
    assert isinstance(shared, Stack) and isinstance(train, Stack)
    kinds = {v["Type"] for v in Template.from_stack(train).to_json()["Resources"].values()}
    assert "AWS::EC2::VPC" not in kinds and "AWS::KMS::Key" not in kinds
    _, job = _only(Template.from_stack(train).to_json(), "Custom::SageMakerTrainingJob")
    request = json.dumps(job["Properties"]["TrainingJobRequest"])
    for part in ("VpcConfig", "OutputDataConfig", "VolumeKmsKeyId"):
        assert part in request
    assert request.count("Fn::ImportValue") >= 4  # subnets, key, bucket
    assert train.dependencies == [shared]


def _recommended_by_aws_cdk_lib() -> dict[str, Any]:
    """The flags the installed aws-cdk-lib recommends (its recommended-feature-flags.json)."""
    bundle = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(bundle) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        flags: dict[str, Any] = json.load(member)
    return flags


def test_cdk_json_has_the_flags_cdk_init_writes() -> None:
    # What `cdk init` of the pinned CLI writes for the pinned aws-cdk-lib: the same.
    cli = ROOT / "node_modules" / "aws-cdk" / "lib" / "init-templates"
    written_by_init = json.loads((cli / ".recommended-feature-flags.json").read_text())
    assert RECOMMENDED == _recommended_by_aws_cdk_lib() == written_by_init
    assert len(RECOMMENDED) > 80


@pytest.fixture(scope="module")
def long_job() -> dict[str, Any]:
    """``-c sample:completion=wait_condition``, as ``cdk synth`` builds it (with the
    flags of cdk.json)."""
    context = {"sample:region": "us-east-1", "sample:completion": "wait_condition"}
    app = build_app(App(context={**context, **RECOMMENDED}))
    found = app.node.find_child("TrainAndServe")
    assert isinstance(found, Stack)
    return dict(Template.from_stack(found).to_json())


def test_long_job_variant_waits_on_a_condition_that_gates_the_model(
    long_job: dict[str, Any],
) -> None:
    job_id, job = _only(long_job, "Custom::SageMakerTrainingJob")
    properties = job["Properties"]
    assert properties["CompletionMode"] == "created"
    assert properties["TrainingJobRequest"]["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 7200,
        "MaxWaitTimeInSeconds": 10800,
    }
    condition_id, condition = _only(long_job, "AWS::CloudFormation::WaitCondition")
    assert condition["Properties"]["Timeout"] == str(10800 + 900)
    assert job_id in condition["DependsOn"]
    rules = [
        rule
        for rule in long_job["Resources"].values()
        if rule["Type"] == "AWS::Events::Rule"
        and rule["Properties"]["EventPattern"]["detail"]["TrainingJobName"] == [{"Ref": job_id}]
    ]
    assert len(rules) == 1
    result_id, result = _only(long_job, "Custom::SageMakerTrainingJobResult")
    assert condition_id in result["DependsOn"]
    _, model = _only(long_job, "AWS::SageMaker::Model")
    # The model reads the result, created only once the wait condition succeeded.
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == {
        "Fn::GetAtt": [result_id, "ModelArtifacts"]
    }
    outputs = json.dumps(long_job["Outputs"])
    assert result_id in outputs


def test_unknown_completion_context_fails_naming_the_choices() -> None:
    app = App(context={"sample:completion": "forever"})
    with pytest.raises(ValueError, match=r"sample:completion: 'forever' is invalid: use one of"):
        build_app(app)


def test_guardrails_variant_runs_the_provider_in_the_isolated_vpc() -> None:
    context = {"sample:region": "us-east-1", "sample:guardrails": "true"}
    app = build_app(App(context={**context, **RECOMMENDED}))
    stack = app.node.find_child("TrainAndServe")
    assert isinstance(stack, Stack)
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    subnets = sorted(k for k, v in resources.items() if v["Type"] == "AWS::EC2::Subnet")
    key_id, _ = _only(template, "AWS::KMS::Key")
    functions = {
        k: v["Properties"]
        for k, v in resources.items()
        if v["Type"] == "AWS::Lambda::Function" and k.startswith("SageMakerTrainingJobProvider")
    }
    assert len(functions) == 1  # the handler; no signaller in wait mode
    for properties in functions.values():
        assert sorted(s["Ref"] for s in properties["VpcConfig"]["SubnetIds"]) == subnets
        assert properties["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert properties["TracingConfig"] == {"Mode": "Active"}
    endpoints = [
        json.dumps(v["Properties"]["ServiceName"])
        for v in resources.values()
        if v["Type"] == "AWS::EC2::VPCEndpoint"
    ]
    for service in ("sagemaker.api", "ec2", "cloudformation", "states", "xray", "s3"):
        assert any(f".{service}" in name for name in endpoints), service
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    """``-c sample:tuning=true``, as ``cdk synth`` builds it (with cdk.json's flags)."""
    context = {"sample:region": "us-east-1", "sample:tuning": "true"}
    app = build_app(App(context={**context, **RECOMMENDED}))
    found = app.node.find_child("TrainAndServe")
    assert isinstance(found, Stack)
    assert Annotations.from_stack(found).find_warning("*", Match.any_value()) == []
    return dict(Template.from_stack(found).to_json())


def test_tuning_variant_serves_the_best_model_of_eta_and_max_depth(
    tuning: dict[str, Any],
) -> None:
    assert not [
        r for r in tuning["Resources"].values() if r["Type"] == "Custom::SageMakerTrainingJob"
    ]
    tuning_id, job = _only(tuning, "Custom::SageMakerHyperparameterTuningJob")
    request = job["Properties"]["TuningJobRequest"]
    config = request["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "validation:rmse",
    }
    assert config["ParameterRanges"] == {
        "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"}],
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}],
    }
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 4,
        "MaxParallelTrainingJobs": 2,
        "MaxRuntimeInSeconds": 2700,
    }
    definition = request["TrainingJobDefinition"]
    assert set(definition["StaticHyperParameters"]) == {"objective", "num_round"}
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["VpcConfig"]["Subnets"]
    assert "VolumeKmsKeyId" in definition["ResourceConfig"]
    _, model = _only(tuning, "AWS::SageMaker::Model")
    # The model (and the endpoint after it) is created once tuning completed.
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == {
        "Fn::GetAtt": [tuning_id, "BestModelArtifacts"]
    }
    _only(tuning, "AWS::SageMaker::Endpoint")
    outputs = tuning["Outputs"]
    assert outputs["BestEta"]["Value"] == {"Fn::GetAtt": [tuning_id, "BestHyperParameter.eta"]}
    assert outputs["ValidationRmse"]["Value"] == {"Fn::GetAtt": [tuning_id, "BestObjectiveValue"]}


def test_queue_variant_trains_through_a_training_queue() -> None:
    """``-c sample:queue=true`` (with cdk.json's flags and the guardrails): the job
    goes through a queue of 2 instances, waited for by Batch's event, and the
    provider's VPC has Batch's endpoint; no warning."""
    context = {"sample:region": "us-east-1", "sample:queue": "true", "sample:guardrails": "true"}
    app = build_app(App(context={**context, **RECOMMENDED}))
    stack = app.node.find_child("TrainAndServe")
    assert isinstance(stack, Stack)
    template = Template.from_stack(stack).to_json()
    _, environment = _only(template, "AWS::Batch::ServiceEnvironment")
    assert environment["Properties"]["CapacityLimits"] == [
        {"CapacityUnit": "NUM_INSTANCES", "MaxCapacity": 2}
    ]
    queue_id, _ = _only(template, "AWS::Batch::JobQueue")
    job_id, job = _only(template, "Custom::SageMakerTrainingJob")
    assert job["Properties"]["ServiceJobQueue"] == {
        "JobQueue": {"Fn::GetAtt": [queue_id, "JobQueueArn"]}
    }
    assert job["Properties"]["CompletionMode"] == "created"
    [rule] = [
        r["Properties"]["EventPattern"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"]["EventPattern"]["source"] == ["aws.batch"]
    ]
    assert rule["detail"]["jobArn"] == [{"Ref": job_id}]
    endpoints = [
        json.dumps(v["Properties"]["ServiceName"])
        for v in template["Resources"].values()
        if v["Type"] == "AWS::EC2::VPCEndpoint"
    ]
    assert any(".batch" in name for name in endpoints)
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def test_a_queued_tuning_sample_fails_saying_why() -> None:
    app = App(context={"sample:queue": "true", "sample:tuning": "true"})
    with pytest.raises(ValueError, match=r"AWS Batch queues no tuning jobs"):
        build_app(app)


@pytest.fixture(scope="module")
def pipeline() -> Stack:
    """``-c sample:pipeline=true``, with cdk.json's flags."""
    context = {"sample:region": "us-east-1", "sample:pipeline": "true", **RECOMMENDED}
    found = build_app(App(context=context)).node.find_child("TrainAndServe")
    assert isinstance(found, Stack)
    return found


def test_pipeline_variant_snapshot(pipeline: Stack, snapshot: SnapshotAssertion) -> None:
    assert stack_template(pipeline) == snapshot.use_extension(TemplateSnapshotExtension)


def test_pipeline_variant_prepares_trains_evaluates_and_registers(pipeline: Stack) -> None:
    """Prepare (a processing job) -> train on its output -> evaluate on the held-out
    test set with a gate on the report -> register with the report -> serve."""
    template = Template.from_stack(pipeline).to_json()
    resources = template["Resources"]
    jobs = {k: r for k, r in resources.items() if r["Type"] == "Custom::SageMakerProcessingJob"}
    [prepare_id] = [k for k in jobs if k.startswith("Prepare")]
    [evaluate_id] = [k for k in jobs if k.startswith("Evaluate")]
    [train_id] = [
        k
        for k, r in resources.items()
        if r["Type"] == "Custom::SageMakerTrainingJob" and not k.startswith("TrainRepack")
    ]
    prepare = jobs[prepare_id]["Properties"]["ProcessingJobRequest"]
    assert [o["OutputName"] for o in prepare["ProcessingOutputConfig"]["Outputs"]] == [
        "train",
        "validation",
        "test",
    ]
    assert prepare["NetworkConfig"]["VpcConfig"]["Subnets"]
    assert "VolumeKmsKeyId" in prepare["ProcessingResources"]["ClusterConfig"]
    assert "KmsKeyId" in prepare["ProcessingOutputConfig"]
    channels = resources[train_id]["Properties"]["TrainingJobRequest"]["InputDataConfig"]
    assert {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels} == {
        "train": {"Fn::GetAtt": [prepare_id, "Output.train"]},
        "validation": {"Fn::GetAtt": [prepare_id, "Output.validation"]},
    }
    evaluation = jobs[evaluate_id]["Properties"]
    inputs = {
        i["InputName"]: i["S3Input"]["S3Uri"]
        for i in evaluation["ProcessingJobRequest"]["ProcessingInputs"]
    }
    assert inputs["model"] == {"Fn::GetAtt": [train_id, "ModelArtifacts"]}
    assert inputs["test"] == {"Fn::GetAtt": [prepare_id, "Output.test"]}
    assert evaluation["QualityGate"] == [{"Metric": "mse", "AtMost": 25}]
    assert evaluation["EvaluationReport"]["Metrics"]["mse"] == "regression_metrics.mse.value"
    _, package = _only(template, "AWS::SageMaker::ModelPackage")
    statistics = package["Properties"]["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics == {
        "ContentType": "application/json",
        "S3Uri": {"Fn::GetAtt": [evaluate_id, "ReportUri"]},
    }
    model_id, model = _only(template, "AWS::SageMaker::Model")
    assert "ModelPackageName" in model["Properties"]["PrimaryContainer"]
    # The served model scores the held-out test set, each prediction beside its label.
    score_id, score = _only(template, "Custom::SageMakerTransformJob")
    transform = score["Properties"]["TransformJobRequest"]
    assert transform["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    source = transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert source == {"Fn::GetAtt": [prepare_id, "Output.test"]}
    assert transform["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "OutputFilter": "$[0,-1]",
        "JoinSource": "Input",
    }
    assert "KmsKeyId" in transform["TransformOutput"]
    assert template["Outputs"]["PredictionsUri"]["Value"] == {"Fn::GetAtt": [score_id, "OutputUri"]}
    assert Annotations.from_stack(pipeline).find_warning("*", Match.any_value()) == []


def test_a_pipeline_that_tunes_fails_saying_why() -> None:
    app = App(context={"sample:pipeline": "true", "sample:tuning": "true"})
    with pytest.raises(ValueError, match=r"sample:pipeline=true evaluates and registers one"):
        build_app(app)
