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
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
PROCESSING_METRICS_NAMESPACE = "/aws/sagemaker/ProcessingJobs"


def execution_policy(
    scope: Construct,
    *,
    construct_id: str = "ExecutionPolicy",
    log_group_name: str = TRAINING_LOG_GROUP,
    namespace: str = METRICS_NAMESPACE,
    jobs: str = "training job",
) -> iam.ManagedPolicy:
    """The SageMaker log group of a kind of job (training's by default), its metrics
    namespace, and the ECR authorization token, as one managed policy in ``scope``."""
    stack = stack_of(scope)
    log_group = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_group_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    logs_resources = [log_group, f"{log_group}:log-stream:*"]
    policy = iam.ManagedPolicy(
        scope,
        construct_id,
        description=f"What every SageMaker {jobs} of this stack needs alike",
        statements=[
            iam.PolicyStatement(actions=list(TRAINING_LOG_ACTIONS), resources=logs_resources),
            # cloudwatch:PutMetricData supports no resource scoping; the namespace
            # condition limits it to SageMaker's metrics of these jobs.
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
            ),
            # ecr:GetAuthorizationToken supports no resource scoping.
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        ],
    )
    acknowledge(
        policy,
        wildcard_findings(stack, [], logs_resources),
        "SageMaker writes each job's logs to streams it names after the job, in "
        f"the one log group {log_group_name}.",
    )
    acknowledge(
        policy,
        ["AwsSolutions-IAM5[Resource::*]"],
        "cloudwatch:PutMetricData and ecr:GetAuthorizationToken support no resource "
        "scoping: IAM requires '*'. The metrics are limited to the "
        f"{namespace} namespace by condition; image pulls are "
        "granted per job on its image's repository.",
    )
    return policy
