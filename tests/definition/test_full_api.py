"""Every typed prop at once, the escape hatch, the cross-field rules and their
messages, and the warnings about secret-looking values."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Size, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    Checkpoint,
    CompressionType,
    DebugCollection,
    DebugHookConfig,
    ExperimentConfig,
    FileSystemAccessMode,
    FileSystemType,
    InputMode,
    InstanceGroup,
    InstancePlacement,
    InstanceType,
    MetricDefinition,
    MlflowConfig,
    ModelPackageConfig,
    OutputCompression,
    PlacementSpecification,
    ProfilerConfig,
    RecordWrapper,
    RuleConfiguration,
    S3DataDistribution,
    S3Location,
    ServerlessJobConfig,
    ServerlessJobType,
    TensorBoardOutput,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)
from constructs_lib.training._training_job import SECRET_WARNING_ID
from tests.deliver import deliver
from tests.iam import role_statements

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ENV = Environment(account="123456789012", region="us-east-1")
RULE_IMAGE = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"


class Everything:
    """One job that sets every typed prop (and two more for spot and groups)."""

    def __init__(self) -> None:
        app = App()
        stack = Stack(app, "Full", env=ENV)
        self.stack = stack
        self.bucket = s3.Bucket(stack, "Data")
        self.key = kms.Key(stack, "Key")
        self.credentials = lambda_.Function(
            stack,
            "Credentials",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(e, c): return {}"),
        )
        out = S3Location.of(self.bucket, "debug/")
        self.job = TrainingJob(
            stack,
            "Everything",
            image=TrainingImage.from_private_registry(
                "registry.example.com/team/trainer:1", credentials_provider=self.credentials
            ),
            inputs=[
                TrainingInput.from_bucket(
                    "train",
                    self.bucket,
                    "train/",
                    content_type="text/csv",
                    input_mode=InputMode.PIPE,
                    compression=CompressionType.GZIP,
                    distribution=S3DataDistribution.SHARDED_BY_S3_KEY,
                    record_wrapper=RecordWrapper.RECORD_IO,
                    shuffle_seed=7,
                ),
                TrainingInput.from_manifest(
                    "labels",
                    self.bucket,
                    "manifests/train.manifest",
                    augmented=True,
                    attribute_names=["source-ref", "label"],
                    data_prefix="images/",
                ),
                TrainingInput.from_file_system(
                    "fsx",
                    file_system_id="fs-0123456789abcdef0",
                    file_system_type=FileSystemType.FSX_LUSTRE,
                    directory_path="/fsx/data",
                    access_mode=FileSystemAccessMode.READ_ONLY,
                ),
            ],
            output=TrainingOutput.to_bucket(
                self.bucket, "models/", encryption_key=self.key, compression=OutputCompression.NONE
            ),
            input_mode=InputMode.FILE,
            metric_definitions=[MetricDefinition(name="rmse", regex="rmse=(\\S+)")],
            enable_metrics_time_series=True,
            container_entrypoint=["python", "train.py"],
            container_arguments=["--epochs", "3"],
            # (No local NVMe storage: a volume key is taken.)
            instance_type=InstanceType.of("ml.p3.2xlarge"),
            instance_count=2,
            instance_placement=InstancePlacement(
                enable_multiple_jobs=False,
                specifications=[PlacementSpecification(instance_count=2)],
            ),
            volume_size=Size.gibibytes(50),
            volume_encryption_key=self.key,
            keep_alive=Duration.minutes(10),
            max_runtime=Duration.minutes(30),
            max_pending=Duration.minutes(30),
            checkpoint=Checkpoint.to_bucket(self.bucket, "checkpoints/", local_path="/opt/ml/ck"),
            hyperparameters={"epochs": "3"},
            environment={"MODE": "full"},
            tags={"team": "ml"},
            training_job_name="everything-1",
            network_isolation=True,
            inter_container_traffic_encryption=True,
            max_retry_attempts=2,
            debug_hook=DebugHookConfig(
                output=out,
                local_path="/opt/ml/debug",
                hook_parameters={"save_interval": "100"},
                collections=[DebugCollection(name="weights", parameters={"save": "all"})],
            ),
            debug_rules=[
                RuleConfiguration(
                    name="VanishingGradient",
                    evaluator_image=RULE_IMAGE,
                    instance_type=InstanceType.of("ml.t3.medium"),
                    volume_size=Size.gibibytes(5),
                    output=S3Location.of(self.bucket, "rules/"),
                    parameters={"rule_to_invoke": "VanishingGradient"},
                )
            ],
            profiler=ProfilerConfig(
                output=S3Location.of(self.bucket, "profiler/"),
                interval=Duration.millis(500),
                parameters={"DataloaderProfilingConfig": "{}"},
            ),
            profiler_rules=[RuleConfiguration(name="ProfilerReport", evaluator_image=RULE_IMAGE)],
            tensor_board_output=TensorBoardOutput(
                output=S3Location.of(self.bucket, "tensorboard/"), local_path="/opt/ml/tb"
            ),
            experiment=ExperimentConfig(
                experiment_name="exp",
                trial_name="trial",
                trial_component_display_name="c",
                run_name="run",
            ),
            infra_check=True,
            remote_debug=False,
            session_tag_chaining=True,
            mlflow=MlflowConfig(
                resource_arn="arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/t",
                experiment_name="exp",
                run_name="run",
            ),
            model_package=ModelPackageConfig(
                model_package_group_arn=(
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"
                )
            ),
            additional_request={
                "VpcConfig": {
                    "SecurityGroupIds": ["sg-0123456789abcdef0"],
                    "Subnets": ["subnet-0123456789abcdef0"],
                },
                "ResourceConfig": {"TrainingPlanArn": None},
            },
        )
        self.spot = TrainingJob(
            stack,
            "Spot",
            image=TrainingImage.from_algorithm_name("my-marketplace-algorithm"),
            output=TrainingOutput.to_bucket(self.bucket, "spot/"),
            instance_groups=[
                InstanceGroup(name="cpu", instance_type=InstanceType.of("ml.c5.xlarge")),
                InstanceGroup(
                    name="gpu", instance_type=InstanceType.of("ml.g5.xlarge"), instance_count=2
                ),
            ],
            inputs=[TrainingInput.from_bucket("train", self.bucket, instance_group_names=["gpu"])],
            spot_training=True,
            max_runtime=Duration.minutes(20),
            max_wait=Duration.minutes(40),
        )
        self.serverless = TrainingJob(
            stack,
            "Serverless",
            output=TrainingOutput.to_bucket(self.bucket, "serverless/"),
            serverless=ServerlessJobConfig(
                base_model_arn="arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/llama/1.0.0",
                job_type=ServerlessJobType.EVALUATION,
                evaluation_type="BenchmarkEvaluation",
                accept_eula=True,
            ),
        )
        self.template = Template.from_stack(stack)


@pytest.fixture(scope="module")
def built() -> Everything:
    return Everything()


@pytest.mark.parametrize("job", ["job", "spot", "serverless"])
def test_request_reaches_the_api_valid(built: Everything, job: str) -> None:
    sent = deliver(getattr(built, job))
    assert sent["TrainingJobName"]


def test_every_typed_section_is_rendered(built: Everything) -> None:
    sent = deliver(built.job)
    assert set(sent) == {
        "TrainingJobName", "HyperParameters", "AlgorithmSpecification", "RoleArn",
        "InputDataConfig", "OutputDataConfig", "ResourceConfig", "VpcConfig",
        "StoppingCondition", "Tags", "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption", "CheckpointConfig", "DebugHookConfig",
        "DebugRuleConfigurations", "TensorBoardOutputConfig", "ExperimentConfig",
        "ProfilerConfig", "ProfilerRuleConfigurations", "Environment", "RetryStrategy",
        "RemoteDebugConfig", "InfraCheckConfig", "SessionChainingConfig", "MlflowConfig",
        "ModelPackageConfig",
    }  # fmt: skip
    assert sent["AlgorithmSpecification"]["TrainingImageConfig"] == {
        "TrainingRepositoryAccessMode": "Vpc",
        "TrainingRepositoryAuthConfig": {
            "TrainingRepositoryCredentialsProviderArn": (
                "arn:aws:lambda:us-east-1:123456789012:function:credentials"
            )
        },
    }
    train = sent["InputDataConfig"][0]
    assert train["ShuffleConfig"] == {"Seed": 7}
    assert train["RecordWrapperType"] == "RecordIO"
    assert train["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"
    labels = sent["InputDataConfig"][1]["DataSource"]["S3DataSource"]
    assert labels["S3DataType"] == "AugmentedManifestFile"
    assert labels["AttributeNames"] == ["source-ref", "label"]
    assert sent["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600
    assert sent["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 500
    assert sent["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 1800,
        "MaxPendingTimeInSeconds": 1800,
    }
    assert sent["RetryStrategy"] == {"MaximumRetryAttempts": 2}


def test_spot_groups_and_algorithm_resource(built: Everything) -> None:
    sent = deliver(built.spot)
    assert sent["AlgorithmSpecification"]["AlgorithmName"] == "my-marketplace-algorithm"
    assert "TrainingImage" not in sent["AlgorithmSpecification"]
    assert sent["EnableManagedSpotTraining"] is True
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": 1200, "MaxWaitTimeInSeconds": 2400}
    assert "InstanceType" not in sent["ResourceConfig"]
    assert [g["InstanceGroupName"] for g in sent["ResourceConfig"]["InstanceGroups"]] == [
        "cpu",
        "gpu",
    ]


def test_spot_waits_for_max_wait(built: Everything) -> None:
    resource = built.template.find_resources(
        "Custom::SageMakerTrainingJob",
        {"Properties": {"TrainingJobRequest": {"EnableManagedSpotTraining": True}}},
    )
    [props] = [r["Properties"] for r in resource.values()]
    assert props["ServiceTimeout"] == str(2400 + 900)


def test_serverless_job_has_no_instances_or_volume(built: Everything) -> None:
    sent = deliver(built.serverless)
    assert "AlgorithmSpecification" not in sent
    assert "ResourceConfig" not in sent
    assert sent["ServerlessJobConfig"]["JobType"] == "Evaluation"


def test_new_locations_and_keys_are_granted(built: Everything) -> None:
    statements = role_statements(built.template, built.stack, built.job.role)
    writes = [s for s in statements if s["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]]
    # One statement for the action set, its resources a list (compacted).
    assert len(writes) == 1
    prefixes = sorted(r["Fn::Join"][1][1] for r in writes[0]["Resource"])
    assert prefixes == [
        "/checkpoints/*", "/debug/*", "/models/*", "/profiler/*", "/rules/*", "/tensorboard/*",
    ]  # fmt: skip
    assert {
        "Action": "kms:CreateGrant",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        "Effect": "Allow",
        "Resource": built.stack.resolve(built.key.key_arn),
    } in statements
    invoke = next(s for s in statements if s["Action"] == "lambda:InvokeFunction")
    assert built.stack.resolve(built.credentials.function_arn) in invoke["Resource"]
    manifest = {
        "Fn::Join": [
            "",
            [built.stack.resolve(built.bucket.bucket_arn), "/manifests/train.manifest"],
        ]
    }
    [gets] = [s for s in statements if s["Action"] == "s3:GetObject" and "Condition" not in s]
    resources = gets["Resource"] if isinstance(gets["Resource"], list) else [gets["Resource"]]
    assert manifest in resources  # the manifest object itself, exactly


def test_vpc_job_lets_the_provider_watch_network_interfaces(built: Everything) -> None:
    statements = [
        statement
        for policy in built.template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {
        "Action": "ec2:DescribeNetworkInterfaces",
        "Effect": "Allow",
        "Resource": "*",
    } in statements


# -- cross-field rules and their messages -------------------------------------


def _job(**props: Any) -> TrainingJob:
    stack = Stack(App(), "Rules")
    bucket = s3.Bucket(stack, "B")
    base: dict[str, Any] = {
        "image": TrainingImage.from_registry(IMAGE),
        "output": TrainingOutput.to_bucket(bucket),
    }
    base.update({k: v(bucket) if callable(v) else v for k, v in props.items()})
    return TrainingJob(stack, "Job", **base)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"spot_training": True},
            r"^\[Rules/Job\] StoppingCondition.MaxWaitTimeInSeconds \(max_wait\): \(missing\) "
            r"is invalid: is required with managed spot training",
        ),
        (
            {
                "spot_training": True,
                "max_runtime": Duration.minutes(30),
                "max_wait": Duration.minutes(20),
            },
            r"MaxWaitTimeInSeconds \(max_wait\): 1200 is invalid: must be at least "
            r"MaxRuntimeInSeconds \(1800\)",
        ),
        (
            {"max_wait": Duration.minutes(20)},
            r"MaxWaitTimeInSeconds \(max_wait\): 1200 is invalid: applies only to managed spot",
        ),
        (
            {
                "spot_training": True,
                "max_wait": Duration.minutes(50),
                "max_runtime": Duration.minutes(10),
            },
            r"MaxWaitTimeInSeconds \(max_wait\): 3000 is invalid: the deployment waits",
        ),
        (
            {
                "instance_groups": [
                    InstanceGroup(name="g", instance_type=InstanceType.of("ml.c5.xlarge"))
                ],
                "instance_type": InstanceType.of("ml.c5.xlarge"),
            },
            r"ResourceConfig.InstanceType \(instance_type\): 'ml.c5.xlarge' is invalid: cannot "
            r"be set with InstanceGroups",
        ),
        (
            {
                "instance_groups": [
                    InstanceGroup(name="g", instance_type=InstanceType.of("ml.c5.xlarge"))
                ],
                "inputs": lambda b: [TrainingInput.from_bucket("t", b, instance_group_names=["x"])],
            },
            r"InstanceGroupNames \(inputs\): 'x' is invalid: must name an instance group",
        ),
        (
            {"additional_request": {"AlgorithmSpecification": {"AlgorithmName": "algo"}}},
            r"AlgorithmSpecification \(image, input_mode.*needs exactly one of TrainingImage "
            r"and AlgorithmName",
        ),
        (
            {
                "additional_request": {
                    "ResourceConfig": {"InstancePreferences": [{"InstanceType": "ml.c5.xlarge"}]}
                }
            },
            r"ResourceConfig.InstanceType \(instance_type\): 'ml.m5.xlarge' is invalid: is "
            r"mutually exclusive with InstancePreferences",
        ),
        (
            {"additional_request": {"ResourceConfig": {"SelectedInstanceType": "ml.c5.xlarge"}}},
            r"SelectedInstanceType \(instance_type.*is read-only",
        ),
        (
            {
                "image": None,
                "serverless": ServerlessJobConfig(
                    base_model_arn="arn:aws:sagemaker:us-east-1:aws:hub-content/Hub/Model/llama/1.0.0",
                    job_type=ServerlessJobType.FINE_TUNING,
                ),
                "volume_size": Size.gibibytes(5),
            },
            r"VolumeSizeInGB \(volume_size\): 5 is invalid: cannot be set for a serverless job",
        ),
        (
            {
                "image": None,
                "serverless": ServerlessJobConfig(
                    base_model_arn="arn:aws:sagemaker:us-east-1:aws:hub-content/Hub/Model/llama/1.0.0",
                    job_type=ServerlessJobType.EVALUATION,
                ),
            },
            r"ServerlessJobConfig.EvaluationType \(serverless\): \(missing\) is invalid: is "
            r"required when JobType is Evaluation",
        ),
        (
            {"image": None},
            r"AlgorithmSpecification \(image.*\(missing\) is invalid: is required unless "
            r"ServerlessJobConfig",
        ),
        (
            {"debug_rules": [RuleConfiguration(name="r", evaluator_image="i")] * 2},
            r"DebugRuleConfigurations\[1\].RuleConfigurationName \(debug_rules\): 'r' is "
            r"invalid: must be unique",
        ),
        (
            {"additional_request": {"Bogus": 1}},
            r"Bogus \(additional_request\): 1 is invalid: is not a member of the request",
        ),
        (
            {"additional_request": {"StoppingCondition": {"MaxPendingTimeInSeconds": 60}}},
            r"MaxPendingTimeInSeconds \(max_pending\): 60 is invalid: must be at least 1800",
        ),
        (
            {"max_pending": Duration.minutes(10)},
            r"MaxPendingTimeInSeconds \(max_pending\): 600 is invalid: must be at least 1800",
        ),
        (
            {"instance_type": InstanceType.of("ml.nonexistent.xlarge")},
            r"ResourceConfig.InstanceType \(instance_type\): 'ml.nonexistent.xlarge' is "
            r"invalid: must be one of ml.m4.xlarge",
        ),
        (
            {"metric_definitions": [MetricDefinition(name="", regex="x")]},
            r"MetricDefinitions\[0\].Name \(metric_definitions\): '' is invalid: must have at "
            r"least 1 characters",
        ),
    ],
)
def test_cross_field_rules_and_messages(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _job(**props)


def test_all_problems_are_listed_at_once() -> None:
    with pytest.raises(ValueError) as caught:
        _job(instance_count=0, max_pending=Duration.minutes(10), tags={"aws:x": "y"})
    text = str(caught.value)
    assert "(3 problems)" in text
    assert text.count("\n  - ") == 3


def test_escape_hatch_none_removes_a_member() -> None:
    job = _job(tags={"a": "b"}, additional_request={"Tags": None})
    assert "Tags" not in job.request
    with pytest.raises(
        ValueError,
        match=r"StoppingCondition \(max_runtime, max_wait, max_pending\): \(missing\) is "
        r"invalid: is required unless ServerlessJobConfig",
    ):
        _job(additional_request={"StoppingCondition": None})


def test_escape_hatch_overrides_typed_values() -> None:
    job = _job(additional_request={"ResourceConfig": {"VolumeSizeInGB": 99}})
    assert job.request["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 99,
    }


# -- secrets ------------------------------------------------------------------


def test_secret_looking_values_get_a_warning() -> None:
    job = _job(
        hyperparameters={"db_password": "hunter2", "num_round": "10"},
        environment={
            "API_TOKEN": "x",
            "opaque": "wJalrXUtnFEMI7K7MDENGbPxRfiCY3EXAMPLEKEY",
            "data": "s3://bucket/some/long/path/2024-01-01/part-0001.csv",
            "label": "a long sentence with spaces 1234567890",
        },
    )
    warnings = Annotations.from_stack(Stack.of(job)).find_warning("*", Match.any_value())
    texts = [str(w.entry.data) for w in warnings]
    flagged = sorted(t.split("]")[0].split("[")[1] for t in texts if SECRET_WARNING_ID in t)
    assert flagged == ["'API_TOKEN'", "'db_password'", "'opaque'"]
    assert all("Secrets Manager" in t for t in texts if SECRET_WARNING_ID in t)


def test_tokens_in_values_are_not_flagged() -> None:
    stack = Stack(App(), "Tok")
    bucket = s3.Bucket(stack, "B")
    job = TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_registry(IMAGE),
        output=TrainingOutput.to_bucket(bucket),
        environment={"BUCKET_SECRET_NAME": bucket.bucket_name},
    )
    warnings = Annotations.from_stack(Stack.of(job)).find_warning("*", Match.any_value())
    assert not [w for w in warnings if SECRET_WARNING_ID in str(w.entry.data)]


def test_vpc_via_escape_hatch_is_validated() -> None:
    with pytest.raises(
        ValueError,
        match=r"VpcConfig.Subnets \(vpc_subnets\): 0 is invalid: must "
        r"have at least 1 items",
    ):
        _job(additional_request={"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": []}})
