"""The model registry (issue 31, section 2): ``ModelPackageGroup`` with its importers
and grants, and ``job.register_model(group, ...)``: a version whose inference
specification serves the trained artifacts, retained when a retraining replaces it,
carrying the job's ARN and gated metrics, created once training completed and its
gate passed; checked against CloudFormation's schemas (cfn-lint) and played through a
deploy, a retraining (a new version, the old one kept) and an approval in place."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from constructs_lib import (
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
    TuningObjective,
)
from tests import cfn_lint
from tests.cloudformation import Engine
from tests.fakes import Plan
from tests.iam import role_statements

ENV = Environment(account="123456789012", region="us-east-1")
RMSE = MetricDefinition("validation:rmse", r"validation-rmse:([0-9.]+)")
PACKAGE = "AWS::SageMaker::ModelPackage"


def _stack(
    num_round: str = "100", approval: ModelApproval = ModelApproval.PENDING_MANUAL_APPROVAL
) -> tuple[App, Stack]:
    """A gated XGBoost job registering its model; a model serving the version."""
    app = App()
    stack = Stack(app, "ml", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    group = ModelPackageGroup(stack, "Registry", description="house prices")
    job = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": num_round},
        quality_gate=[MetricThreshold("validation:rmse", at_most=0.5)],
    )
    registered = job.register_model(
        group,
        approval=approval,
        inference_instance_types=[InstanceType.of("ml.m5.large")],
        content_types=["text/csv"],
        response_types=["text/csv"],
        description="XGBoost on the house prices",
    )
    role = iam.Role(stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    registered.grant_read_model_artifacts(role)
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            model_package_name=registered.model_package_arn
        ),
    )
    return app, stack


def _template(**options: Any) -> dict[str, Any]:
    app, stack = _stack(**options)
    return dict(app.synth().get_stack_artifact(stack.artifact_id).template)


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    return {
        "base": _template(),
        "retrain": _template(num_round="300"),
        "approved": _template(approval=ModelApproval.APPROVED),
    }


def _one(template: dict[str, Any], type_: str) -> dict[str, Any]:
    [resource] = [r for r in template["Resources"].values() if r["Type"] == type_]
    return resource


def test_the_version_serves_the_trained_artifacts(templates: dict[str, dict[str, Any]]) -> None:
    package = _one(templates["base"], PACKAGE)
    properties = package["Properties"]
    [container] = properties["InferenceSpecification"]["Containers"]
    assert container["Image"].endswith("/sagemaker-xgboost:1.7-1")
    url = container["ModelDataUrl"]["Fn::GetAtt"]
    assert url[0].startswith("Train") and url[1] == "ModelArtifacts"
    specification = properties["InferenceSpecification"]
    assert specification["SupportedContentTypes"] == ["text/csv"]
    assert specification["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.large"]
    assert properties["ModelApprovalStatus"] == "PendingManualApproval"
    assert properties["ModelPackageGroupName"] == {
        "Ref": next(
            k
            for k, r in templates["base"]["Resources"].items()
            if r["Type"] == "AWS::SageMaker::ModelPackageGroup"
        )
    }
    # The job's ARN and its gated metric, read once the job completed (and passed).
    metadata = properties["CustomerMetadataProperties"]
    assert metadata["TrainingJobArn"]["Fn::GetAtt"][1] == "TrainingJobArn"
    assert metadata["Metric.validation:rmse"]["Fn::GetAtt"][1] == "Metric.validation:rmse"
    # Replaced by a retraining, the earlier version stays in the registry.
    assert package["DeletionPolicy"] == package["UpdateReplacePolicy"] == "Retain"
    group = _one(templates["base"], "AWS::SageMaker::ModelPackageGroup")
    assert group["DeletionPolicy"] == "Retain"
    assert group["Properties"]["ModelPackageGroupDescription"] == "house prices"


def test_the_templates_pass_cloudformations_schemas(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        assert cfn_lint.problems(template) == []


def test_a_retraining_registers_a_new_version_and_keeps_the_old(
    templates: dict[str, dict[str, Any]],
) -> None:
    engine = Engine()
    engine.sagemaker.plan = Plan(runtime=600.0, metrics={"validation:rmse": 0.25})
    assert engine.deploy(templates["base"]) == "CREATE_COMPLETE", engine.failed()
    [(package_id, first)] = [(k, s) for k, s in engine.resources.items() if s.type == PACKAGE]
    first_version = first.physical_id
    assert first.properties["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == (
        engine.sagemaker.job(_job(engine)).artifact
    )
    # Approving changes the version in place: nothing trains, no new version.
    assert engine.deploy(templates["approved"]) == "UPDATE_COMPLETE", engine.failed()
    assert engine.resources[package_id].physical_id == first_version
    assert engine.resources[package_id].properties["ModelApprovalStatus"] == "Approved"
    assert len(engine.sagemaker.created) == 1

    assert engine.deploy(templates["retrain"]) == "UPDATE_COMPLETE", engine.failed()
    second = engine.resources[package_id]
    assert second.physical_id != first_version
    assert second.properties["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == (
        engine.sagemaker.job(_job(engine)).artifact
    )
    # The cleanup deleted nothing of the registry: the first version is retained.
    deleted = {op.physical_id for op in engine.operations if op.action == "Delete"}
    assert first_version not in deleted


def test_a_version_missing_its_gate_is_never_registered(
    templates: dict[str, dict[str, Any]],
) -> None:
    engine = Engine()
    engine.sagemaker.plan = Plan(runtime=600.0, metrics={"validation:rmse": 0.9})
    assert engine.deploy(templates["base"]) == "ROLLBACK_COMPLETE"
    created = {op.logical_id for op in engine.operations if op.action == "Create"}
    assert not any(engine_type == PACKAGE for engine_type in _types(templates["base"], created))


def _types(template: dict[str, Any], logical_ids: set[str]) -> set[str]:
    return {template["Resources"][k]["Type"] for k in logical_ids if k in template["Resources"]}


def _job(engine: Engine) -> str:
    [state] = [s for s in engine.resources.values() if s.type == "Custom::SageMakerTrainingJob"]
    return state.physical_id


def test_a_framework_jobs_version_serves_with_its_inference_container() -> None:
    stack = Stack(App(), "ml", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    group = ModelPackageGroup(stack, "Registry", model_package_group_name="churn")
    job = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_framework("sklearn", "1.2-1"),
        code=TrainingCode.from_directory("sample_app/code", entry_point="train.py"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
    )
    with pytest.raises(
        ValueError,
        match=r"\[ml/Train\] register_model: container: None is invalid: .*job.inference_container",
    ):
        job.register_model(group)
    job.register_model(group, container=job.inference_container(entry_point="train.py"))
    with pytest.raises(ValueError, match=r"already registers its model in"):
        job.register_model(group, container=job.inference_container(entry_point="train.py"))
    package = Template.from_stack(stack).find_resources(PACKAGE)
    [container] = next(iter(package.values()))["Properties"]["InferenceSpecification"]["Containers"]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in json.dumps(container["Image"])
    assert next(iter(package.values()))["Properties"]["ModelPackageGroupName"] == {
        "Ref": stack.get_logical_id(group.resource)
    }


def test_a_tuning_job_registers_its_best_model() -> None:
    stack = Stack(App(), "ml", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    tuning = HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            metric_definitions=[RMSE],
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.1, 0.5)],
    )
    group = ModelPackageGroup.from_model_package_group_name(stack, "Shared", "Churn-Models")
    tuning.register_model(group)
    [package] = Template.from_stack(stack).find_resources(PACKAGE).values()
    properties = package["Properties"]
    assert properties["ModelPackageGroupName"] == "Churn-Models"
    [container] = properties["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"]["Fn::GetAtt"][1] == "BestModelArtifacts"
    metadata = properties["CustomerMetadataProperties"]
    assert {k: v["Fn::GetAtt"][1] for k, v in metadata.items()} == {
        "TuningJobArn": "HyperParameterTuningJobArn",
        "BestTrainingJobArn": "BestTrainingJobArn",
        "BestObjectiveMetric": "BestObjectiveMetric",
        "BestObjectiveValue": "BestObjectiveValue",
    }


def test_groups_import_and_grant_as_aws_cdk_lib_resources_do() -> None:
    stack = Stack(App(), "ml", env=ENV)
    by_name = ModelPackageGroup.from_model_package_group_name(stack, "ByName", "Churn-Models")
    by_arn = ModelPackageGroup.from_model_package_group_arn(
        stack, "ByArn", "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/shared"
    )
    assert stack.resolve(by_name.model_package_group_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:us-east-1:123456789012:model-package-group/churn-models",
            ],
        ]
    }
    assert by_arn.model_package_group_name == "shared"
    created = ModelPackageGroup(stack, "Mine", removal_policy=RemovalPolicy.DESTROY)
    pipeline = iam.Role(
        stack, "Pipeline", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com")
    )
    by_arn.grant_register(pipeline)
    created.grant_approve(pipeline)
    by_name.grant_read(pipeline)
    template = Template.from_stack(stack)
    statements = role_statements(template, stack, pipeline)
    actions = {json.dumps(s["Action"]): s["Resource"] for s in statements}
    register = actions[json.dumps(["sagemaker:CreateModelPackage", "sagemaker:AddTags"])]
    assert "arn:aws:sagemaker:eu-west-1:210987654321:model-package-group/shared" in register
    assert any("model-package/shared/*" in json.dumps(r) for r in register)
    assert json.dumps("sagemaker:UpdateModelPackage") in actions
    template.has_resource("AWS::SageMaker::ModelPackageGroup", {"DeletionPolicy": "Delete"})
    name = template.find_resources("AWS::SageMaker::ModelPackageGroup")
    [group] = name.values()
    assert group["Properties"]["ModelPackageGroupName"].startswith("ml-Mine")
    with pytest.raises(ValueError, match=r"model_package_group_name: 'bad name' is invalid"):
        ModelPackageGroup(stack, "Bad", model_package_group_name="bad name")
