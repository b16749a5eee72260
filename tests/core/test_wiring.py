"""L2 wiring: built-in algorithm images per region, asset images and data, VPC,
imports, metrics and artifact grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import (
    Checkpoint,
    InstanceType,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)
from constructs_lib.testing import TemplateSnapshotExtension, normalize_template
from constructs_lib.training._training_job import NO_S3_ROUTE_WARNING_ID
from tests.iam import role_statements

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENV = Environment(account="123456789012", region="eu-west-1")
ENI_ACTIONS = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]


statements_of = role_statements


class Wired:
    """A stack that uses all the wiring: built-in algorithm, asset image and data,
    an isolated VPC with an S3 endpoint, a KMS-encrypted output, an import."""

    def __init__(self) -> None:
        app = App()
        self.stack = stack = Stack(app, "Wired", env=ENV)
        self.vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.bucket = s3.Bucket(stack, "Data")
        self.key = kms.Key(stack, "Key")
        self.builtin = TrainingJob(
            stack,
            "Builtin",
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_asset("train", str(FIXTURES / "train.csv"))],
            output=TrainingOutput.to_bucket(self.bucket, "models/", encryption_key=self.key),
            vpc=self.vpc,
            instance_count=2,
        )
        self.custom = TrainingJob(
            stack,
            "Custom",
            image=TrainingImage.from_asset(str(FIXTURES / "image")),
            output=TrainingOutput.to_bucket(self.bucket, "custom/"),
            instance_type=InstanceType.of("ml.m5.large"),
        )
        self.imported = TrainingJob.from_training_job_name(stack, "Old", "Earlier-Job-7")
        self.reader = iam.Role(
            stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.builtin.grant_read_model_artifacts(self.reader)
        self.template = Template.from_stack(stack)

    def request(self, job: TrainingJob) -> dict[str, Any]:
        resolved: dict[str, Any] = self.stack.resolve(job.request)
        return resolved


@pytest.fixture(scope="module")
def wired() -> Wired:
    return Wired()


# -- images -------------------------------------------------------------------


def test_builtin_algorithm_in_a_known_region_is_a_plain_uri(wired: Wired) -> None:
    image = wired.request(wired.builtin)["AlgorithmSpecification"]["TrainingImage"]
    # The SDK's published registry of XGBoost in eu-west-1.
    assert image == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert wired.builtin.training_image_uri == image
    assert {
        "Action": [
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ],
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":ecr:eu-west-1:141502667606:repository/sagemaker-xgboost",
                ],
            ]
        },
    } in statements_of(wired.template, wired.stack, wired.builtin.role)


def test_builtin_algorithm_in_a_region_agnostic_stack_is_a_mapping_lookup() -> None:
    stack = Stack(App(), "Agnostic")
    bucket = s3.Bucket(stack, "B")
    jobs = [
        TrainingJob(
            stack,
            f"Job{i}",
            image=TrainingImage.from_algorithm("linear-learner"),
            output=TrainingOutput.to_bucket(bucket),
        )
        for i in range(2)
    ]
    template = Template.from_stack(stack).to_json()
    mappings = template["Mappings"]
    assert len(mappings) == 1  # shared by both jobs
    [(name, table)] = mappings.items()
    assert table["us-east-1"] == {"account": "382416733822"}
    assert len(table) > 20
    image = stack.resolve(jobs[0].request)["AlgorithmSpecification"]["TrainingImage"]
    assert image == {
        "Fn::Join": [
            "",
            [
                {"Fn::FindInMap": [name, {"Ref": "AWS::Region"}, "account"]},
                ".dkr.ecr.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/linear-learner:1",
            ],
        ]
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("xgboosted",), r"'xgboosted' is invalid: SageMaker's built-in algorithms are .*kmeans"),
        (("xgboost",), r"version None of 'xgboost' is invalid: choose one of .*1.7-1"),
        (("xgboost", "9.9"), r"version '9.9' of 'xgboost' is invalid"),
    ],
)
def test_builtin_algorithm_errors(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingImage.from_algorithm(*args)


def test_builtin_algorithm_missing_in_the_region_fails_at_synth() -> None:
    stack = Stack(App(), "Mars", env=Environment(region="mars-north-1"))
    with pytest.raises(ValueError, match=r"\[Mars/Job\] image: .*'mars-north-1'.*published in"):
        TrainingJob(
            stack,
            "Job",
            image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(s3.Bucket(stack, "B")),
        )


def test_asset_image_is_built_and_pullable(wired: Wired) -> None:
    image = wired.request(wired.custom)["AlgorithmSpecification"]["TrainingImage"]
    assert "cdk-hnb659fds-container-assets-123456789012-eu-west-1" in str(image)
    pull = [
        s
        for s in statements_of(wired.template, wired.stack, wired.custom.role)
        if s["Action"]
        == ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    ]
    assert len(pull) == 1
    assert "container-assets" in str(pull[0]["Resource"])


def test_registry_image_uri_outside_a_job() -> None:
    assert TrainingImage.from_registry("img:1").image_uri == "img:1"
    with pytest.raises(ValueError, match="use the training_image_uri of the TrainingJob"):
        _ = TrainingImage.from_algorithm("kmeans").image_uri


# -- data ---------------------------------------------------------------------


def test_asset_input_reads_exactly_its_object(wired: Wired) -> None:
    [channel] = wired.request(wired.builtin)["InputDataConfig"]
    uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
    bucket = "cdk-hnb659fds-assets-123456789012-eu-west-1"
    assert uri.startswith(f"s3://{bucket}/")
    key = uri.removeprefix(f"s3://{bucket}/")
    assert key.endswith(".csv")
    statements = statements_of(wired.template, wired.stack, wired.builtin.role)

    def arn(suffix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{bucket}{suffix}"]]}

    bucket_arn = arn("")
    assert {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": arn(f"/{key}*"),
    } in statements
    assert {
        "Action": "s3:ListBucket",
        "Condition": {"StringLike": {"s3:prefix": [f"{key}*"]}},
        "Effect": "Allow",
        "Resource": bucket_arn,
    } in statements


def test_asset_input_must_be_a_file() -> None:
    with pytest.raises(ValueError, match=r"path '.*image' is invalid: it must be an existing file"):
        TrainingInput.from_asset("train", str(FIXTURES / "image"))


def test_output_key_gets_encrypt_decrypt(wired: Wired) -> None:
    assert {
        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "Effect": "Allow",
        "Resource": wired.stack.resolve(wired.key.key_arn),
    } in statements_of(wired.template, wired.stack, wired.builtin.role)
    output = wired.request(wired.builtin)["OutputDataConfig"]
    assert output["KmsKeyId"] == wired.stack.resolve(wired.key.key_arn)


def test_grant_read_model_artifacts_covers_this_jobs_artifacts_only(wired: Wired) -> None:
    statements = statements_of(wired.template, wired.stack, wired.reader)
    bucket_arn = wired.stack.resolve(wired.bucket.bucket_arn)
    job_ref = wired.stack.resolve(wired.builtin.training_job_name)
    assert statements == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [bucket_arn, "/models/", job_ref, "/*"]]},
        },
        {
            "Action": "kms:Decrypt",
            "Effect": "Allow",
            "Resource": wired.stack.resolve(wired.key.key_arn),
        },
    ]


# -- VPC ----------------------------------------------------------------------


def test_vpc_config_uses_the_isolated_subnets_and_a_created_group(wired: Wired) -> None:
    config = wired.request(wired.builtin)["VpcConfig"]
    subnets = [wired.stack.resolve(s.subnet_id) for s in wired.vpc.isolated_subnets]
    assert config["Subnets"] == subnets
    [group] = wired.builtin.connections.security_groups
    assert config["SecurityGroupIds"] == [wired.stack.resolve(group.security_group_id)]
    # Two instances: the group lets them reach each other.
    wired.template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": wired.stack.resolve(group.security_group_id),
            "SourceSecurityGroupId": wired.stack.resolve(group.security_group_id),
            "IpProtocol": "-1",
        },
    )


def test_execution_role_may_attach_network_interfaces_in_this_vpc_only(wired: Wired) -> None:
    statements = statements_of(wired.template, wired.stack, wired.builtin.role)
    [group] = wired.builtin.connections.security_groups

    def arn(resource: str, name: Any) -> dict[str, Any]:
        prefix = f":ec2:eu-west-1:123456789012:{resource}/"
        tail = [prefix + name] if isinstance(name, str) else [prefix, name]
        return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, *tail]]}

    subnets = [wired.stack.resolve(s.subnet_id) for s in wired.vpc.isolated_subnets]
    expected = [
        {"Action": ENI_ACTIONS, "Effect": "Allow", "Resource": "*"},
        {
            "Action": "ec2:CreateNetworkInterface",
            "Effect": "Allow",
            "Resource": [
                arn("network-interface", "*"),
                *(arn("subnet", subnet) for subnet in subnets),
                arn("security-group", wired.stack.resolve(group.security_group_id)),
            ],
        },
        {
            "Action": ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
            "Condition": {"ArnEquals": {"ec2:Vpc": wired.stack.resolve(wired.vpc.vpc_arn)}},
            "Effect": "Allow",
            "Resource": arn("network-interface", "*"),
        },
        {"Action": "ec2:DeleteNetworkInterfacePermission", "Effect": "Allow", "Resource": "*"},
    ]
    for statement in expected:
        assert statement in statements, statement


def test_the_provider_watches_network_interfaces_of_vpc_jobs(wired: Wired) -> None:
    statements = statements_of(wired.template, wired.stack, wired.builtin.provider.role)
    assert {
        "Action": "ec2:DescribeNetworkInterfaces",
        "Effect": "Allow",
        "Resource": "*",
    } in statements


def test_no_warning_with_an_s3_endpoint(wired: Wired) -> None:
    warnings = Annotations.from_stack(wired.stack).find_warning("*", Match.any_value())
    assert not [w for w in warnings if NO_S3_ROUTE_WARNING_ID in str(w.entry.data)]


def _vpc_stack(*, endpoint: bool, subnet_type: ec2.SubnetType) -> tuple[Stack, ec2.Vpc]:
    # Region-agnostic: a fixed region without lookups gets placeholder zones.
    stack = Stack(App(), "Net")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=1,
        nat_gateways=1 if subnet_type == ec2.SubnetType.PRIVATE_WITH_EGRESS else 0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="private", subnet_type=subnet_type),
        ],
    )
    if endpoint:
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    return stack, vpc


@pytest.mark.parametrize(
    ("endpoint", "subnet_type", "warned"),
    [
        (False, ec2.SubnetType.PRIVATE_ISOLATED, True),
        (True, ec2.SubnetType.PRIVATE_ISOLATED, False),
        (False, ec2.SubnetType.PRIVATE_WITH_EGRESS, False),
    ],
)
def test_warning_when_the_subnets_cannot_reach_s3(
    endpoint: bool, subnet_type: ec2.SubnetType, warned: bool
) -> None:
    stack, vpc = _vpc_stack(endpoint=endpoint, subnet_type=subnet_type)
    TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "B")),
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=subnet_type),
    )
    warnings = Annotations.from_stack(stack).find_warning("/Net/Job", Match.any_value())
    texts = [str(w.entry.data) for w in warnings if NO_S3_ROUTE_WARNING_ID in str(w.entry.data)]
    assert bool(texts) == warned
    if warned:
        assert "GatewayVpcEndpointAwsService.S3" in texts[0]


def test_an_empty_subnet_selection_fails() -> None:
    stack, vpc = _vpc_stack(endpoint=True, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    with pytest.raises(
        ValueError,
        match=r"^\[Net/Job\] vpc_subnets: SubnetSelection\(.*\) is invalid: it "
        r"selects no subnet of Net/Vpc$",
    ):
        TrainingJob(
            stack,
            "Job",
            image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(s3.Bucket(stack, "B")),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(
                subnet_group_name="private", availability_zones=["eu-west-1z"]
            ),
        )


def test_given_security_groups_are_used_and_connectable() -> None:
    stack, vpc = _vpc_stack(endpoint=True, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    group = ec2.SecurityGroup(stack, "Given", vpc=vpc)
    job = TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "B")),
        vpc=vpc,
        security_groups=[group],
    )
    database = ec2.SecurityGroup(stack, "Database", vpc=vpc)
    database.connections.allow_from(job, ec2.Port.tcp(5432))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::SecurityGroup", 2)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"FromPort": 5432, "SourceSecurityGroupId": stack.resolve(group.security_group_id)},
    )
    assert stack.resolve(job.request)["VpcConfig"]["SecurityGroupIds"] == [
        stack.resolve(group.security_group_id)
    ]


def test_subnets_or_groups_without_a_vpc_fail() -> None:
    stack = Stack(App(), "NoVpc")
    with pytest.raises(ValueError, match=r"\[NoVpc/Job\] vpc: None is invalid: vpc_subnets"):
        TrainingJob(
            stack,
            "Job",
            image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(s3.Bucket(stack, "B")),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )


# -- imports and attributes ---------------------------------------------------


def test_import_by_name_derives_a_lower_case_arn(wired: Wired) -> None:
    assert wired.imported.training_job_name == "Earlier-Job-7"
    assert wired.stack.resolve(wired.imported.training_job_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:eu-west-1:123456789012:training-job/earlier-job-7",
            ],
        ]
    }
    with pytest.raises(ValueError, match=r"\[Wired/Old\] model_data_url: None is invalid"):
        _ = wired.imported.model_data_url


def test_import_by_attributes() -> None:
    stack = Stack(App(), "Imp")
    job = TrainingJob.from_training_job_attributes(
        stack,
        "Job",
        training_job_name="j",
        training_job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
        model_data_url="s3://b/models/j/output/model.tar.gz",
    )
    assert job.training_job_arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/j"
    assert job.model_data_url == "s3://b/models/j/output/model.tar.gz"


def test_metric_is_an_attribute_of_the_completed_job(wired: Wired) -> None:
    logical_id = wired.stack.get_logical_id(wired.builtin.resource.node.default_child)
    assert wired.stack.resolve(wired.builtin.metric("validation:rmse")) == {
        "Fn::GetAtt": [logical_id, "Metric.validation:rmse"]
    }


def test_wired_stack_snapshot(wired: Wired, snapshot: SnapshotAssertion) -> None:
    assert normalize_template(wired.template.to_json()) == snapshot.use_extension(
        TemplateSnapshotExtension
    )


def test_kms_encrypted_inputs_and_checkpoints_get_key_grants() -> None:
    stack = Stack(App(), "Keys", env=ENV)
    input_key = kms.Key(stack, "InputKey")
    checkpoint_key = kms.Key(stack, "CheckpointKey")
    data = s3.Bucket(stack, "Data", encryption_key=input_key)
    checkpoints = s3.Bucket(stack, "Checkpoints", encryption_key=checkpoint_key)
    job = TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        inputs=[TrainingInput.from_bucket("train", data, "train/")],
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "Out")),
        checkpoint=Checkpoint.to_bucket(checkpoints, "ck/"),
    )
    statements = statements_of(Template.from_stack(stack), stack, job.role)
    assert {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": stack.resolve(input_key.key_arn),
    } in statements
    assert {
        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "Effect": "Allow",
        "Resource": stack.resolve(checkpoint_key.key_arn),
    } in statements
