"""What every execution role of a stack's jobs needs alike, in one managed policy."""

from __future__ import annotations

from aws_cdk import ArnFormat
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._shared.stacks import stack_of
from ..security._nag import acknowledge, wildcard_findings

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRAINING_LOG_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
)
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"


def execution_policy(scope: Construct) -> iam.ManagedPolicy:
    """The SageMaker training log group, the training metrics namespace, and the ECR
    authorization token, as one managed policy in ``scope``."""
    stack = stack_of(scope)
    log_group = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=TRAINING_LOG_GROUP,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    logs_resources = [log_group, f"{log_group}:log-stream:*"]
    policy = iam.ManagedPolicy(
        scope,
        "ExecutionPolicy",
        description="What every SageMaker training job of this stack needs alike",
        statements=[
            iam.PolicyStatement(actions=list(TRAINING_LOG_ACTIONS), resources=logs_resources),
            # cloudwatch:PutMetricData supports no resource scoping; the namespace
            # condition limits it to SageMaker's training metrics.
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            ),
            # ecr:GetAuthorizationToken supports no resource scoping.
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        ],
    )
    acknowledge(
        policy,
        wildcard_findings(stack, [], logs_resources),
        "SageMaker writes each job's logs to streams it names after the job, in "
        "the one log group /aws/sagemaker/TrainingJobs.",
    )
    acknowledge(
        policy,
        ["AwsSolutions-IAM5[Resource::*]"],
        "cloudwatch:PutMetricData and ecr:GetAuthorizationToken support no resource "
        "scoping: IAM requires '*'. The metrics are limited to the "
        "/aws/sagemaker/TrainingJobs namespace by condition; image pulls are "
        "granted per job on its image's repository.",
    )
    return policy
