"""The HyperparameterTuningJob construct: its request, grants, provider permissions,
completion modes, attributes and synth-time validation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, CfnElement, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from constructs_lib import (
    CategoricalRange,
    Completion,
    ContinuousRange,
    HyperbandConfig,
    HyperparameterTuningJob,
    IntegerRange,
    MetricDefinition,
    ScalingType,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
    TuningStrategy,
    WarmStart,
    WarmStartType,
)
from constructs_lib.handler import lifecycle
from constructs_lib.handler.kinds import TUNING
from tests.flags import FLAG_SETS
from tests.iam import role_statements
from tests.training.test_training_job import permissions

ENV = Environment(account="123456789012", region="us-east-1")
XGBOOST = TrainingImage.from_algorithm("xgboost", "1.7-1")
RANGES = [
    ContinuousRange("eta", 0.05, 0.5),
    IntegerRange("max_depth", 2, 8, scaling=ScalingType.LINEAR),
    CategoricalRange("booster", ["gbtree", "dart"]),
]


class Built:
    """One synthesized stack with a training job and three tuning jobs."""

    def __init__(self, flags: dict[str, Any]) -> None:
        app = App(context=flags)
        stack = Stack(app, "TuningStack", env=ENV)
        self.stack = stack
        self.data = s3.Bucket(stack, "Data")
        key = kms.Key(stack, "Key")
        self.key = key
        self.vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
        self.given_role = iam.Role(
            stack, "GivenRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.training = TrainingJob(
            stack,
            "Train",
            image=XGBOOST,
            inputs=[TrainingInput.from_bucket("train", self.data, "train/")],
            output=TrainingOutput.to_bucket(self.data, "models/"),
        )
        self.tuning = HyperparameterTuningJob(
            stack,
            "Tuning",
            training=TrainingDefinition(
                image=XGBOOST,
                inputs=[
                    TrainingInput.from_bucket("train", self.data, "train/"),
                    TrainingInput.from_bucket("validation", self.data, "validation/"),
                ],
                output=TrainingOutput.to_bucket(self.data, "tuning/", encryption_key=key),
                volume_encryption_key=key,
                vpc=self.vpc,
                hyperparameters={"objective": "reg:squarederror", "num_round": "50"},
                max_runtime=Duration.minutes(10),
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=RANGES,
            max_jobs=20,
            max_parallel_jobs=2,
            early_stopping=True,
            random_seed=7,
            target_objective_value=0.1,
            tags={"team": "ml"},
        )
        self.long = HyperparameterTuningJob(
            stack,
            "LongTuningWithAVeryLongConstructId",
            training=TrainingDefinition(
                image=TrainingImage.from_registry(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"
                ),
                output=TrainingOutput.to_bucket(self.data, "long/"),
                metric_definitions=[MetricDefinition(name="loss", regex=r"loss=(\S+)")],
                role=self.given_role,
            ),
            objective=TuningObjective.maximize("loss"),
            ranges=[ContinuousRange("lr", 0.0001, 0.1, scaling=ScalingType.LOGARITHMIC)],
            strategy=TuningStrategy.HYPERBAND,
            hyperband=HyperbandConfig(min_resource=1, max_resource=9),
            warm_start=WarmStart([self.tuning], type=WarmStartType.IDENTICAL_DATA_AND_ALGORITHM),
            completion=Completion.wait_condition(),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.fixed = HyperparameterTuningJob(
            stack,
            "Fixed",
            training=TrainingDefinition(
                image=XGBOOST, output=TrainingOutput.to_bucket(self.data, "fixed/")
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[CategoricalRange("booster", ["gbtree", "dart"])],
            strategy=TuningStrategy.GRID,
            tuning_job_name="Fixed-Tuning-1",
            completion=Completion.none(),
        )
        model_role = iam.Role(
            stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.tuning.grant_read_model_artifacts(model_role)
        self.model = sagemaker.CfnModel(
            stack,
            "Model",
            execution_role_arn=model_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.tuning.training_image_uri,
                model_data_url=self.tuning.best_model_data_url,
            ),
        )
        self.model_role = model_role
        self.template = Template.from_stack(stack)
        self.resources = self.template.to_json()["Resources"]

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)

    def resource(self, construct: Any) -> dict[str, Any]:
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        logical_id = self.stack.get_logical_id(element)
        resource: dict[str, Any] = self.resources[logical_id]
        return resource

    def request(self, job: HyperparameterTuningJob) -> dict[str, Any]:
        request: dict[str, Any] = self.resource(job.resource)["Properties"]["TuningJobRequest"]
        return request


@pytest.fixture(scope="module", params=FLAG_SETS.keys())
def built(request: pytest.FixtureRequest) -> Built:
    return Built(FLAG_SETS[request.param])


# -- the request ----------------------------------------------------------------


def test_the_request_is_in_api_shape_with_the_training_definition_mapped(built: Built) -> None:
    resource = built.resource(built.tuning.resource)
    assert resource["Type"] == "Custom::SageMakerHyperparameterTuningJob"
    request = built.request(built.tuning)
    config = request["HyperParameterTuningJobConfig"]
    assert config == {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": 20,
            "MaxParallelTrainingJobs": 2,
            "MaxRuntimeInSeconds": 2700,  # what Completion.wait() can hold
        },
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"}],
            "IntegerParameterRanges": [
                {"Name": "max_depth", "MinValue": "2", "MaxValue": "8", "ScalingType": "Linear"}
            ],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
        "TrainingJobEarlyStoppingType": "Auto",
        "RandomSeed": 7,
        "TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.1},
    }
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {
        "num_round": "50",
        "objective": "reg:squarederror",
    }
    assert "HyperParameters" not in definition
    assert set(definition["AlgorithmSpecification"]) == {"TrainingImage", "TrainingInputMode"}
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert definition["ResourceConfig"]["VolumeKmsKeyId"] == built.resolve(built.key.key_arn)
    assert set(definition["VpcConfig"]) == {"SecurityGroupIds", "Subnets"}
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert "HyperParameterTuningJobName" not in request  # generated by the handler


def test_strategy_warm_start_and_fixed_names(built: Built) -> None:
    long = built.request(built.long)
    assert long["HyperParameterTuningJobConfig"]["Strategy"] == "Hyperband"
    assert long["HyperParameterTuningJobConfig"]["StrategyConfig"] == {
        "HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}
    }
    assert long["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": built.resolve(built.tuning.tuning_job_name)}
        ],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    # wait_condition: the tuning job may run 11 h 45 min by default.
    assert long["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] == 42300
    fixed = built.request(built.fixed)
    assert fixed["HyperParameterTuningJobName"] == "Fixed-Tuning-1"
    # Grid: as many jobs as combinations; Completion.none(): SageMaker's runtime limit.
    assert fixed["HyperParameterTuningJobConfig"]["ResourceLimits"] == {
        "MaxParallelTrainingJobs": 1
    }
    assert built.resource(built.fixed.resource)["Properties"]["RemovalPolicy"] == "retain"
    assert built.resource(built.long.resource)["Properties"]["RemovalPolicy"] == "destroy"


def test_generated_names_fit_32_characters_under_the_providers_prefix(built: Built) -> None:
    provider = built.tuning.provider
    for job in (built.tuning, built.long):
        prefix = built.resource(job.resource)["Properties"]["JobNamePrefix"]
        assert prefix.startswith(f"{provider.tuning_name_prefix}-")
        assert len(prefix) <= 19
        name = lifecycle.generated_name(
            prefix,
            stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/x/1",
            logical_id="L",
            request_id="R",
            max_length=TUNING.max_name_length,
        )
        assert len(name) <= 32 and TUNING.is_name(name)
        assert name.startswith(f"{provider.tuning_name_prefix}-")


def test_waiting_is_bounded_by_the_tuning_jobs_runtime(built: Built) -> None:
    wait = built.resource(built.tuning.resource)["Properties"]
    assert wait["ServiceTimeout"] == "3600"
    assert wait["WaitTimeoutSeconds"] == 3300
    assert wait["PollIntervalSeconds"] == 30
    long = built.resource(built.long.resource)["Properties"]
    assert long["CompletionMode"] == "created"
    assert built.long.wait_condition is not None
    condition = built.resource(built.long.wait_condition)
    assert condition["Properties"]["Timeout"] == str(42300 + 900)


# -- attributes and wiring ---------------------------------------------------------


def test_the_best_model_feeds_a_model_after_the_tuning_job(built: Built) -> None:
    container = built.resource(built.model)["Properties"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == {
        "Fn::GetAtt": [
            built.stack.get_logical_id(built.tuning.resource.node.default_child),
            "BestModelArtifacts",
        ]
    }
    assert container["Image"] == built.resolve(built.tuning.training_image_uri)
    tuning_id = built.stack.get_logical_id(built.tuning.resource.node.default_child)
    assert built.resolve(built.tuning.best_objective_value) == {
        "Fn::GetAtt": [tuning_id, "BestObjectiveValue"]
    }
    assert built.resolve(built.tuning.best_hyperparameter("eta")) == {
        "Fn::GetAtt": [tuning_id, "BestHyperParameter.eta"]
    }
    assert built.resolve(built.tuning.tuning_job_arn) == {
        "Fn::GetAtt": [tuning_id, "HyperParameterTuningJobArn"]
    }
    # With a wait condition the attributes come from the result read after the wait.
    result_id = built.resolve(built.long.best_model_data_url)["Fn::GetAtt"][0]
    result = built.resources[result_id]
    assert result["Type"] == "Custom::SageMakerTuningJobResult"
    assert result["Properties"]["TuningJobName"] == built.resolve(built.long.tuning_job_name)
    assert built.stack.get_logical_id(built.long.wait_condition) in result["DependsOn"]


def test_completion_none_has_no_best_attributes(built: Built) -> None:
    with pytest.raises(ValueError, match=r"\[TuningStack/Fixed\] best_model_data_url: not"):
        _ = built.fixed.best_model_data_url
    with pytest.raises(ValueError, match=r"Completion\.none"):
        built.fixed.best_hyperparameter("booster")


def test_state_change_rule_and_signal_are_the_tuning_jobs(built: Built) -> None:
    rules = built.template.find_resources(
        "AWS::Events::Rule",
        {
            "Properties": {
                "EventPattern": {
                    "detail-type": ["SageMaker HyperParameter Tuning Job State Change"]
                }
            }
        },
    )
    [rule] = rules.values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail"] == {
        "HyperParameterTuningJobName": [built.resolve(built.long.tuning_job_name)],
        "HyperParameterTuningJobStatus": ["Completed", "Failed", "Stopped"],
    }
    transformer = rule["Properties"]["Targets"][0]["InputTransformer"]
    assert transformer["InputTemplate"]["Fn::Join"][1][-1].endswith(',"kind":"tuning"}')
    assert transformer["InputPathsMap"] == {"detail": "$.detail"}
    signals = built.template.find_resources("Custom::SageMakerTuningJobSignal")
    assert len(signals) == 1


def test_grant_read_model_artifacts_covers_the_tuning_jobs_training_jobs(built: Built) -> None:
    statements = role_statements(built.template, built.stack, built.model_role)
    reads = [s for s in statements if "s3:GetObject" in json.dumps(s["Action"])]
    [read] = reads
    # <bucket ARN>/tuning/<tuning job name>-*: where SageMaker writes its training jobs.
    parts = read["Resource"]["Fn::Join"][1]
    assert parts[-3:] == ["/tuning/", built.resolve(built.tuning.tuning_job_name), "-*"]
    decrypt = [s for s in statements if "kms:Decrypt" in json.dumps(s["Action"])]
    assert decrypt


# -- IAM ----------------------------------------------------------------------------


def test_execution_role_gets_the_training_definitions_grants(built: Built) -> None:
    granted = permissions(role_statements(built.template, built.stack, built.tuning.role))
    actions = {action for _, action, _, _ in granted}
    assert {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "kms:CreateGrant"} <= actions
    assert {"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"} <= actions
    role = built.resource(built.tuning.role)
    assert role["Properties"]["Description"].startswith(
        "SageMaker execution role of hyperparameter tuning job TuningStack/Tuning"
    )
    # The stack's shared execution policy (logs, metrics, ECR token).
    arns = json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert "ExecutionPolicy" in arns
    given = permissions(role_statements(built.template, built.stack, built.given_role))
    assert any(action == "s3:PutObject" and "long/" in resource for _, action, resource, _ in given)


def test_provider_acts_on_this_stacks_tuning_jobs_only_and_reads_their_training_jobs(
    built: Built,
) -> None:
    provider = built.tuning.provider
    statements = role_statements(built.template, built.stack, provider.role)
    granted = permissions(statements)
    prefix = provider.tuning_name_prefix
    base = "arn:aws:sagemaker:us-east-1:123456789012"
    tuning_jobs = [
        f"{base}:hyper-parameter-tuning-job/{name}"
        for name in (f"{prefix}-*", "Fixed-Tuning-1", "fixed-tuning-1")
    ]
    tuning_actions = {
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:DeleteHyperParameterTuningJob",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "sagemaker:ListTags",
    }
    on_tuning = {
        (action, json.loads(resource))
        for _, action, resource, _ in granted
        if "hyper-parameter-tuning-job" in resource
    }
    assert on_tuning == {(action, job) for action in tuning_actions for job in tuning_jobs}
    read_training = {
        json.loads(resource)
        for _, action, resource, _ in granted
        if action == "sagemaker:DescribeTrainingJob"
        and f"training-job/{provider.job_name_prefix}-*" not in resource
    }
    assert read_training == {
        f"{base}:training-job/{name}-*" for name in (prefix, "Fixed-Tuning-1", "fixed-tuning-1")
    }
    passed = [s for s in statements if s["Action"] == "iam:PassRole"]
    passed_roles = json.dumps(passed)
    for job in (built.tuning, built.long, built.fixed, built.training):
        assert json.dumps(built.resolve(job.role.role_arn)) in passed_roles


def test_an_imported_tuning_job_has_name_arn_rules_and_warm_starts_others() -> None:
    stack = Stack(App(), "Imports", env=ENV)
    parent = HyperparameterTuningJob.from_tuning_job_name(stack, "Parent", "Earlier-Tuning")
    assert parent.tuning_job_name == "Earlier-Tuning"
    assert stack.resolve(parent.tuning_job_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/earlier-tuning",
            ],
        ]
    }
    parent.on_completed("Done")
    child = _tuning(warm_start=WarmStart([parent]))
    assert child.request["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName": "Earlier-Tuning"}
    ]
    [rule] = Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"] == {
        "HyperParameterTuningJobName": ["Earlier-Tuning"],
        "HyperParameterTuningJobStatus": ["Completed"],
    }


def test_a_stack_without_tuning_jobs_gets_no_tuning_permissions() -> None:
    app = App()
    stack = Stack(app, "OnlyTraining")
    TrainingJob(
        stack,
        "Train",
        image=XGBOOST,
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "B"), "m/"),
    )
    text = json.dumps(Template.from_stack(stack).to_json())
    assert "HyperParameterTuningJob" not in text


# -- validation -------------------------------------------------------------------


def _tuning(**overrides: Any) -> HyperparameterTuningJob:
    stack = Stack(App(), "Checked")
    bucket = s3.Bucket(stack, "B")
    training_overrides = overrides.pop("training", {})
    props: dict[str, Any] = {
        "training": TrainingDefinition(
            image=XGBOOST,
            output=TrainingOutput.to_bucket(bucket, "out/"),
            hyperparameters={"num_round": "10"},
            **training_overrides,
        ),
        "objective": TuningObjective.minimize("validation:rmse"),
        "ranges": [ContinuousRange("eta", 0.1, 0.5)],
    }
    props.update(overrides)
    return HyperparameterTuningJob(stack, "Tune", **props)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"max_jobs": 2, "max_parallel_jobs": 4},
            r"ResourceLimits.MaxParallelTrainingJobs \(max_parallel_jobs\): 4 is invalid: "
            r"must be at most MaxNumberOfTrainingJobs \(2\)",
        ),
        (
            {"strategy": TuningStrategy.GRID},
            r"ContinuousParameterRanges\[0\] \(ranges\): 'eta' is invalid: the Grid strategy "
            "searches categorical ranges only",
        ),
        (
            {"strategy": TuningStrategy.HYPERBAND, "early_stopping": True},
            r"TrainingJobEarlyStoppingType \(early_stopping\): 'Auto' is invalid: must be Off",
        ),
        (
            {"hyperband": HyperbandConfig(min_resource=1)},
            r"StrategyConfig \(hyperband\).*only supported with the Hyperband strategy",
        ),
        (
            {"ranges": [ContinuousRange("eta", 0.5, 0.1)]},
            r"MaxValue \(ranges\): '0.1' is invalid: must be greater than MinValue \(0.5\)",
        ),
        (
            {"ranges": [IntegerRange("depth", 0, 8, scaling=ScalingType.LOGARITHMIC)]},
            r"MinValue \(ranges\): '0' is invalid: must be greater than 0 with Logarithmic",
        ),
        (
            {"ranges": [IntegerRange("depth", 1, 8, scaling=ScalingType.REVERSE_LOGARITHMIC)]},
            "ReverseLogarithmic applies to continuous ranges only",
        ),
        (
            {"ranges": [ContinuousRange("eta", 0.1, 0.5), CategoricalRange("eta", ["1"])]},
            r"Name \(ranges\): 'eta' is invalid: is searched by another range",
        ),
        (
            {"ranges": [IntegerRange("num_round", 5, 50)]},
            r"'num_round' is invalid: is also a static hyperparameter",
        ),
        ({"ranges": []}, r"ParameterRanges \(ranges\): \(missing\) is invalid: needs at least"),
        (
            {"tuning_job_name": "a-name-that-is-longer-than-32-characters"},
            r"HyperParameterTuningJobName \(tuning_job_name\): "
            r"'a-name-that-is-longer-than-32-characters' is invalid: must have at most 32",
        ),
        (
            {"tags": {f"k{i}": "v" for i in range(48)}},
            r"Tags \(tags\): 48 is invalid: must have at most 46 tags",
        ),
        (
            {"max_runtime": Duration.hours(2)},
            r"MaxRuntimeInSeconds \(max_runtime\): 7200 is invalid: the deployment waits.*"
            r"use completion=Completion.wait_condition\(\)",
        ),
        (
            {"max_runtime": Duration.hours(12), "completion": Completion.wait_condition()},
            r"43200 is invalid: Completion.wait_condition\(\) waits at most 12 hours",
        ),
        (
            {
                "objective": TuningObjective.minimize("val:loss"),
                "training": {
                    "metric_definitions": [MetricDefinition(name="train:loss", regex="l=(.*)")]
                },
            },
            r"MetricName \(objective\): 'val:loss' is invalid: is not among the training "
            r"definition's metric definitions \(train:loss\)",
        ),
        (
            {"training": {"max_runtime": Duration.minutes(30), "max_wait": Duration.minutes(40)}},
            r"TrainingJobDefinition.StoppingCondition.MaxWaitTimeInSeconds \(training.max_wait\)",
        ),
        (
            {"max_parallel_jobs": 0},
            r"MaxParallelTrainingJobs \(max_parallel_jobs\): 0 is invalid: must be at least 1",
        ),
        (
            {"additional_request": {"HyperParameterTuningJobConfig": {"Strategy": "Smart"}}},
            r"Strategy \(strategy\): 'Smart' is invalid: must be one of Bayesian, Random",
        ),
    ],
)
def test_invalid_props_fail_at_synth_naming_path_field_value_rule(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=r"^\[Checked/Tune\] ") as raised:
        _tuning(**overrides)
    assert re.search(message, str(raised.value)), str(raised.value)


def test_a_private_registry_image_has_no_place_in_a_training_definition() -> None:
    stack = Stack(App(), "Private")
    bucket = s3.Bucket(stack, "B")
    image = TrainingImage.from_private_registry("registry.example.com/train:1")
    with pytest.raises(ValueError, match=r"TrainingImageConfig.*has no such member"):
        HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(image=image, output=TrainingOutput.to_bucket(bucket)),
            objective=TuningObjective.minimize("loss"),
            ranges=[ContinuousRange("lr", 0.1, 0.2)],
        )


def test_a_failed_tuning_job_leaves_no_provider_behind() -> None:
    app = App()
    stack = Stack(app, "Alone")
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ValueError):
        HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(image=XGBOOST, output=TrainingOutput.to_bucket(bucket)),
            objective=TuningObjective.minimize("loss"),
            ranges=[],
        )
    assert stack.node.try_find_child("SageMakerTrainingJobProvider") is None
