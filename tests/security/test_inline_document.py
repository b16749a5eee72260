"""A job's own role's inline policy, rendered by the library in Python
(``InlineDocument``), against aws-cdk-lib's own ``PolicyDocument`` given the same
statements: the same JSON once resolved, with and without aws-cdk-lib's statement
merging (``@aws-cdk/aws-iam:minimizePolicies``), repeats and conditions included."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs_lib.security._principal import InlineDocument, Statement

Spec = tuple[list[str], list[str], dict[str, Any] | None]


def _specs(bucket: s3.IBucket) -> list[Spec]:
    return [
        (
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            ["arn:aws:ecr:us-east-1:123456789012:repository/r"],
            None,
        ),
        (["s3:GetObject"], [f"{bucket.bucket_arn}/data/*", f"{bucket.bucket_arn}/code/*"], None),
        (["s3:GetObject"], [f"{bucket.bucket_arn}/data/*"], None),  # a repeat of a resource
        (["s3:ListBucket"], [bucket.bucket_arn], {"StringLike": {"s3:prefix": ["data/*"]}}),
        (["s3:PutObject", "s3:AbortMultipartUpload"], [f"{bucket.bucket_arn}/models/*"], None),
        (["s3:PutObject", "s3:PutObject"], ["arn:aws:s3:::other/*"], None),  # repeated action
        (["s3:GetObject"], [f"{bucket.bucket_arn}/data/*"], None),  # the third again
        (["s3:GetObject"], ["arn:aws:s3:::x/*", "arn:aws:s3:::x/*"], None),  # repeated resource
        (
            ["s3:ListBucket", "s3:GetObject", "s3:ListBucket"],
            ["arn:aws:s3:::y", "arn:aws:s3:::z", "arn:aws:s3:::y"],
            {"StringLike": {"s3:prefix": ["a/*"]}, "Bool": {"aws:SecureTransport": "true"}},
        ),
    ]


@pytest.mark.parametrize("minimize", [False, True])
def test_the_library_renders_what_aws_cdk_lib_renders(minimize: bool) -> None:
    app = App(context={"@aws-cdk/aws-iam:minimizePolicies": minimize})
    stack = Stack(app, "Docs")
    bucket = s3.Bucket(stack, "Data")
    theirs = iam.PolicyDocument()
    ours = InlineDocument(minimize=minimize)
    for actions, resources, conditions in _specs(bucket):
        theirs.add_statements(
            iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
        )
        ours.add(Statement(actions, resources, conditions))
    # A statement aws-cdk-lib made (as a key's grant does), kept as it is.
    grant = iam.PolicyStatement(
        actions=["kms:Decrypt"], resources=["arn:aws:kms:us-east-1:123456789012:key/k"]
    )
    theirs.add_statements(grant)
    ours.add(grant)
    # Resolved in a role, as a template renders an inline policy.
    for construct_id, document in (("Theirs", theirs), ("Ours", ours)):
        iam.Role(
            stack,
            construct_id,
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            inline_policies={"Grants": document},
        )
    resources = app.synth().get_stack_artifact("Docs").template["Resources"]
    rendered = {
        key[:4]: value["Properties"]["Policies"]
        for key, value in resources.items()
        if value["Type"] == "AWS::IAM::Role"
    }
    assert rendered["Ours"] == rendered["Thei"]
    statements = rendered["Ours"][0]["PolicyDocument"]["Statement"]
    assert minimize or len(statements) == len(_specs(bucket))  # one repeat gone, the grant added


def test_a_statement_rendered_by_a_synthesis_is_not_extended() -> None:
    app = App()
    stack = Stack(app, "Docs")
    ours = InlineDocument(minimize=False)
    statement = Statement(["s3:GetObject"], ["arn:aws:s3:::a/*"], None)
    ours.add(statement)
    iam.Role(
        stack,
        "Ours",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        inline_policies={"Grants": ours},
    )
    app.synth()
    with pytest.raises(RuntimeError, match="rendered by a synthesis"):
        statement.add_resources("arn:aws:s3:::b/*")


def test_an_empty_document_renders_no_policy_document() -> None:
    stack = Stack(App(), "Docs")
    assert stack.resolve(InlineDocument(minimize=False)) is None
    assert stack.resolve(iam.PolicyDocument()) is None
