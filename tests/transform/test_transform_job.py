"""TransformJob at synth: the CreateTransformJob request it renders (validated against
botocore's model), its output's per-job folder, the model it waits for, the grants to
the model's execution role (no role of its own, no PassRole), the provider's rights,
the limits batch transform has, and clear errors. One app for the module's template
assertions and its snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Size, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Annotations, Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import (
    AssembleWith,
    BatchStrategy,
    Completion,
    DataProcessing,
    InstanceType,
    JoinSource,
    ProcessingJob,
    ProcessingOutput,
    SplitType,
    TrainingImage,
    TransformInput,
    TransformJob,
    TransformOutput,
)
from constructs_lib._shared.schema import load
from constructs_lib._shared.schema.validate import Validator
from constructs_lib.handler.kinds import TRANSFORM
from constructs_lib.handler.properties import NAMED_LOCATIONS
from constructs_lib.testing import TemplateSnapshotExtension, normalize_template
from constructs_lib.transform import MODEL_ROLE_WARNING_ID
from tests.iam import role_statements

ENV = Environment(account="123456789012", region="us-east-1")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1"


def _model(stack: Stack, construct_id: str = "Model") -> tuple[sagemaker.CfnModel, iam.Role]:
    role = iam.Role(
        stack, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    model = sagemaker.CfnModel(
        stack,
        construct_id,
        execution_role_arn=role.role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=IMAGE, model_data_url="s3://models/model.tar.gz"
        ),
    )
    return model, role


@dataclass
class Scored:
    stack: Stack
    template: Template
    prepare: ProcessingJob
    score: TransformJob
    model_role: iam.Role
    key: kms.Key


@pytest.fixture(scope="module")
def scored() -> Scored:
    stack = Stack(App(), "Scored", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    key = kms.Key(stack, "Key")
    model, role = _model(stack)
    prepare = ProcessingJob(
        stack,
        "Prepare",
        image=TrainingImage.from_registry(IMAGE),
        outputs=[ProcessingOutput.to_bucket("test", bucket, "prepared/")],
    )
    score = TransformJob(
        stack,
        "Score",
        model=model,
        model_role=role,
        input=TransformInput.from_processing_output(
            prepare, "test", content_type="text/csv", split_type=SplitType.LINE
        ),
        output=TransformOutput.to_bucket(
            bucket,
            "predictions",
            accept="text/csv",
            assemble_with=AssembleWith.LINE,
            encryption_key=key,
        ),
        instance_type=InstanceType.of("ml.c5.xlarge"),
        instance_count=2,
        max_concurrent_transforms=4,
        max_payload=Size.mebibytes(6),
        batch_strategy=BatchStrategy.MULTI_RECORD,
        environment={"SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600"},
        data_processing=DataProcessing(
            input_filter="$[1:]", join_source=JoinSource.INPUT, output_filter="$[0,-1]"
        ),
        volume_encryption_key=key,
        invocation_timeout=Duration.minutes(5),
        max_retries=2,
        tags={"team": "ml"},
    )
    Tags.of(stack).add("cost-center", "4711")
    return Scored(stack, Template.from_stack(stack), prepare, score, role, key)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_request_is_the_apis(scored: Scored) -> None:
    request = scored.stack.resolve(scored.score.request)
    assert (
        Validator(load("CreateTransformJob")).problems({"TransformJobName": "generated", **request})
        == []
    )
    model_id = scored.stack.get_logical_id(scored.score.props.model)
    prepare_id = scored.stack.get_logical_id(scored.prepare.resource.node.default_child)
    assert request["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    assert request["TransformInput"] == {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": {"Fn::GetAtt": [prepare_id, "Output.test"]},
            }
        },
        "ContentType": "text/csv",
        "SplitType": "Line",
    }
    assert request["TransformResources"]["InstanceCount"] == 2
    assert request["MaxPayloadInMB"] == 6
    assert request["ModelClientConfig"] == {
        "InvocationsTimeoutInSeconds": 300,
        "InvocationsMaxRetries": 2,
    }
    assert request["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "OutputFilter": "$[0,-1]",
        "JoinSource": "Input",
    }


def test_each_transform_writes_a_folder_of_its_own(scored: Scored) -> None:
    properties = scored.template.find_resources(TRANSFORM.resource_type)
    [resource] = properties.values()
    locations = resource["Properties"][NAMED_LOCATIONS]
    output = locations["TransformOutput.S3OutputPath"]
    assert output["Prefix"]["Fn::Join"][1][-1] == "/predictions/"
    assert output["Suffix"] == "/"
    score_id = scored.stack.get_logical_id(scored.score.resource.node.default_child)
    assert scored.stack.resolve(scored.score.output_uri) == {"Fn::GetAtt": [score_id, "OutputUri"]}


def test_the_model_role_reads_the_input_and_writes_the_output(scored: Scored) -> None:
    statements = role_statements(scored.template, scored.stack, scored.model_role)
    gets = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert [r["Fn::Join"][1][-1] for s in gets for r in _listed(s["Resource"])] == ["/prepared/*"]
    puts = [s for s in statements if "s3:PutObject" in _listed(s["Action"])]
    assert [r["Fn::Join"][1][-1] for s in puts for r in _listed(s["Resource"])] == ["/predictions*"]
    assert any("kms:GenerateDataKey*" in _listed(s["Action"]) for s in statements)
    assert any(s["Action"] == "kms:CreateGrant" for s in statements)
    # The transform starts once the model role's grants exist.
    [resource] = scored.template.find_resources(TRANSFORM.resource_type).values()
    policy_id = scored.stack.get_logical_id(
        scored.model_role.node.find_child("DefaultPolicy").node.default_child
    )
    assert policy_id in resource["DependsOn"]


def test_the_transform_has_no_role_and_the_provider_passes_none_for_it(scored: Scored) -> None:
    assert not scored.score.node.try_find_child("ExecutionRole")
    provider = scored.score.provider
    statements = role_statements(scored.template, scored.stack, provider.role)
    [transform] = [s for s in statements if "sagemaker:CreateTransformJob" in _listed(s["Action"])]
    assert "sagemaker:StopTransformJob" in transform["Action"]
    assert "sagemaker:DeleteTransformJob" not in transform["Action"]  # there is none
    [arn] = _listed(transform["Resource"])
    assert arn["Fn::Join"][1][-1].endswith(f":transform-job/{provider.job_name_prefix}-*")
    passed = [
        r for s in statements if s["Action"] == "iam:PassRole" for r in _listed(s["Resource"])
    ]
    # The processing job's role only: the model carries its own.
    assert passed == [scored.stack.resolve(scored.prepare.role.role_arn)]


def test_tags_of_reach_the_request(scored: Scored) -> None:
    rendered = scored.template.find_resources(TRANSFORM.resource_type)
    [resource] = rendered.values()
    tags = resource["Properties"]["TransformJobRequest"]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ml", "cost-center": "4711"}


def test_the_snapshot(scored: Scored, snapshot: SnapshotAssertion) -> None:
    assert normalize_template(scored.template.to_json()) == snapshot.use_extension(
        TemplateSnapshotExtension
    )


# -- errors and warnings -------------------------------------------------------------


def _stack() -> tuple[Stack, s3.Bucket]:
    stack = Stack(App(), "Bad", env=ENV)
    return stack, s3.Bucket(stack, "Data")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"max_payload": Size.mebibytes(200)},
            r"MaxPayloadInMB \(max_payload\): 200 is invalid: must be 0 to 100 MB",
        ),
        (
            {"batch_strategy": BatchStrategy.MULTI_RECORD},
            r"BatchStrategy \(batch_strategy\): 'MultiRecord' is invalid: MultiRecord batches "
            r"the records an object splits into: give the input a split_type",
        ),
        (
            {"instance_type": InstanceType.of("ml.p5.48xlarge")},
            r"TransformResources\.InstanceType \(instance_type\): 'ml\.p5\.48xlarge' is invalid",
        ),
        (
            {"instance_count": 0},
            r"TransformResources\.InstanceCount \(instance_count\): 0 is invalid: must be at "
            r"least 1",
        ),
        (
            {"max_retries": 7},
            r"ModelClientConfig\.InvocationsMaxRetries \(max_retries\): 7 is invalid",
        ),
    ],
    ids=["payload", "multi-record", "instance-type", "instance-count", "retries"],
)
def test_bad_input_is_a_clear_synth_error(props: dict[str, Any], message: str) -> None:
    stack, bucket = _stack()
    model, role = _model(stack)
    with pytest.raises(ValueError, match=message) as raised:
        TransformJob(
            stack,
            "Score",
            model=model,
            model_role=role,
            input=TransformInput.from_bucket(bucket, "test/"),
            output=TransformOutput.to_bucket(bucket, "out/"),
            **props,
        )
    assert str(raised.value).startswith("[Bad/Score] ")


def test_a_model_of_another_region_is_refused() -> None:
    app = App()
    west = Stack(app, "West", env=Environment(account="123456789012", region="us-west-2"))
    model, _ = _model(west)
    east = Stack(app, "East", env=ENV)
    bucket = s3.Bucket(east, "Data")
    with pytest.raises(
        ValueError, match=r"the model is in us-west-2 and the transform in us-east-1"
    ):
        TransformJob(
            east,
            "Score",
            model=model,
            input=TransformInput.from_bucket(bucket, "test/"),
            output=TransformOutput.to_bucket(bucket, "out/"),
        )


def test_a_model_by_name_without_its_role_warns_to_grant_it() -> None:
    stack, bucket = _stack()
    TransformJob(
        stack,
        "Score",
        model="house-prices",
        input=TransformInput.from_bucket(bucket, "test/"),
        output=TransformOutput.to_bucket(bucket, "out/"),
        completion=Completion.none(),
    )
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("model_role=")
    )
    assert len(warnings) == 1 and MODEL_ROLE_WARNING_ID in warnings[0].entry.data


def test_an_alpha_model_brings_its_role() -> None:
    from aws_cdk import aws_sagemaker_alpha as alpha  # noqa: PLC0415

    stack, bucket = _stack()
    model = alpha.Model(
        stack,
        "Model",
        containers=[
            alpha.ContainerDefinition(
                image=alpha.ContainerImage.from_asset(
                    str(__import__("pathlib").Path(__file__).parents[1] / "fixtures" / "image")
                )
            )
        ],
    )
    job = TransformJob(
        stack,
        "Score",
        model=model,
        input=TransformInput.from_bucket(bucket, "test/"),
        output=TransformOutput.to_bucket(bucket, "out/"),
    )
    assert stack.resolve(job.request)["ModelName"] == stack.resolve(model.model_name)
    statements = role_statements(Template.from_stack(stack), stack, model.role)
    assert any(s["Action"] == "s3:GetObject" for s in statements)
    assert (
        Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("model_role"))
        == []
    )


def test_a_model_of_another_kind_is_refused() -> None:
    stack, bucket = _stack()
    with pytest.raises(TypeError, match=r"\[Bad/Score\] model: 42 is invalid: a transform runs"):
        TransformJob(
            stack,
            "Score",
            model=42,
            input=TransformInput.from_bucket(bucket, "test/"),
            output=TransformOutput.to_bucket(bucket, "out/"),
        )


def test_a_waited_transform_signals_its_wait_condition_and_has_rules() -> None:
    stack, bucket = _stack()
    model, role = _model(stack)
    job = TransformJob(
        stack,
        "Score",
        model=model,
        model_role=role,
        input=TransformInput.from_bucket(bucket, "test/"),
        output=TransformOutput.to_bucket(bucket, "out/"),
        completion=Completion.wait_condition(),
    )
    job.on_state_change("Failed", statuses=["Failed"])
    template = Template.from_stack(stack)
    logical_id = stack.get_logical_id(job.resource.node.default_child)
    template.resource_count_is("AWS::CloudFormation::WaitCondition", 1)
    template.resource_count_is(TRANSFORM.result_resource_type, 1)
    rules = template.find_resources(
        "AWS::Events::Rule",
        {
            "Properties": {
                "EventPattern": {
                    "detail-type": ["SageMaker Transform Job State Change"],
                    "detail": {"TransformJobName": [{"Ref": logical_id}]},
                }
            }
        },
    )
    assert len(rules) == 2  # the wait condition's, and the user's
    # What reads the predictions waits for the result, created after the wait.
    result_id = next(iter(template.find_resources(TRANSFORM.result_resource_type)))
    assert stack.resolve(job.output_uri) == {"Fn::GetAtt": [result_id, "OutputUri"]}
