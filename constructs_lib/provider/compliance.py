"""Why the provider's resources raise the findings they do: what its functions cannot
change, and what :meth:`TrainingJobProvider.configure` was not asked to change, said
once per finding where cdk-nag, the Control Tower rules and checkov read it."""

from __future__ import annotations

from aws_cdk import CfnResource
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..security._nag import acknowledge, acknowledge_guard, rules, skip_checkov
from .options import ProviderOptions

_COMPLIANCE_PACKS = ("NIST.800.53.R5", "HIPAA.Security")

LOGS_REASON = (
    "These log groups hold the provider's request logs (job names and settings, no "
    "training data or secrets); CloudWatch Logs encrypts them at rest. "
    "TrainingJobProvider.configure(encryption_key=...) encrypts them with your key."
)
CONCURRENCY_REASON = (
    "TrainingJobProvider.configure(max_concurrency=None) asked for no reserved "
    "concurrency (the account's quota leaves none to reserve); the handler runs only "
    "during deployments, a fraction of a second per poll."
)
STATE_MACHINE_LOGS_REASON = (
    "Step Functions delivers its logs through CloudWatch Logs' log delivery, whose "
    "actions (logs:CreateLogDelivery, logs:PutResourcePolicy, ...) support no resource "
    "scoping, nor do X-Ray's with tracing: IAM requires '*' (aws-cdk-lib's "
    "StateMachine grants them so)."
)
STATE_MACHINE_TRACING_REASON = (
    "X-Ray tracing of the waiting state machine is off, as the provider's functions' "
    "is: TrainingJobProvider.configure(tracing=True) turns it on."
)
HANDLER_DLQ_REASON = (
    "CloudFormation invokes the handler asynchronously, the waiting state machine "
    "synchronously, and CloudFormation waits for the answer at the event's response "
    "URL: the handler answers every error there as FAILED and logs every event; an "
    "invocation that crashes is retried (by Lambda, or by the state machine, which then "
    "has the handler answer FAILED), and the resource's ServiceTimeout ends "
    "CloudFormation's wait. A dead-letter queue would hold events nobody replays. (The "
    "signalling function has one.)"
)
VPC_REASON = (
    "The provider's functions only call AWS APIs (SageMaker, EC2 describe, "
    "CloudFormation, Step Functions, S3); TrainingJobProvider.configure(vpc=...) "
    "runs them in your VPC, which then needs NAT or endpoints."
)
TRACING_REASON = (
    "X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords support no resource "
    "scoping: IAM requires '*'."
)
_VPC_ACCESS_POLICY = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
)
_VPC_ACCESS_REASON = (
    "aws-cdk-lib attaches AWS's Lambda VPC access policy to a function in a VPC: the "
    "network-interface actions Lambda needs support no resource scoping."
)


def acknowledge_provider(provider: Construct, options: ProviderOptions) -> None:
    """The findings every provider raises, on the provider construct."""
    acknowledge(
        provider,
        rules("IAMNoInlinePolicy", packs=_COMPLIANCE_PACKS),
        "Each role of the provider has its own default policy, scoped to what that "
        "function does; a shared managed policy would widen them.",
    )
    if options.max_concurrency is None:
        acknowledge(
            provider, rules("LambdaConcurrency", packs=_COMPLIANCE_PACKS), CONCURRENCY_REASON
        )
    if options.encryption_key is None:
        acknowledge(
            provider, rules("CloudWatchLogGroupEncrypted", packs=_COMPLIANCE_PACKS), LOGS_REASON
        )
    if options.vpc is None:
        acknowledge(provider, rules("LambdaInsideVPC", packs=_COMPLIANCE_PACKS), VPC_REASON)


def acknowledge_function(
    function: lambda_.Function,
    role: iam.IRole,
    options: ProviderOptions,
    *,
    has_dlq: bool,
    reserved: bool,
) -> None:
    """checkov's, the Control Tower rules' and cdk-nag's findings on one function."""
    resource: CfnResource = function.node.default_child  # type: ignore[assignment]
    if not reserved:
        skip_checkov(resource, ["CKV_AWS_115"], CONCURRENCY_REASON)
    if not has_dlq:
        skip_checkov(resource, ["CKV_AWS_116"], HANDLER_DLQ_REASON)
        acknowledge(function, rules("LambdaDLQ", packs=_COMPLIANCE_PACKS), HANDLER_DLQ_REASON)
    if options.vpc is None:
        skip_checkov(resource, ["CKV_AWS_117"], VPC_REASON)
        acknowledge_guard(function, ["lambda_inside_vpc_check"], VPC_REASON)
    else:
        acknowledge(role, [f"AwsSolutions-IAM4[Policy::{_VPC_ACCESS_POLICY}]"], _VPC_ACCESS_REASON)
    if options.tracing:
        acknowledge(role, ["AwsSolutions-IAM5[Resource::*]"], TRACING_REASON)


def acknowledge_log_group(log_group: Construct, *, outside_provider: bool = False) -> None:
    """A log group under AWS managed encryption (cdk-nag's finding is acknowledged on
    the provider for its own, on the log group for one ``outside_provider``)."""
    if outside_provider:
        acknowledge(
            log_group, rules("CloudWatchLogGroupEncrypted", packs=_COMPLIANCE_PACKS), LOGS_REASON
        )
    skip_checkov(log_group.node.default_child, ["CKV_AWS_158"], LOGS_REASON)  # type: ignore[arg-type]
    acknowledge_guard(log_group, ["cloudwatch_log_group_encrypted_check"], LOGS_REASON)


def acknowledge_state_machine(state_machine: sfn.StateMachine, options: ProviderOptions) -> None:
    """The waiting state machine's findings: its role's log delivery on ``*``, and
    tracing when it was not asked for."""
    acknowledge(state_machine.role, ["AwsSolutions-IAM5[Resource::*]"], STATE_MACHINE_LOGS_REASON)
    if not options.tracing:
        acknowledge(state_machine, ["AwsSolutions-SF2"], STATE_MACHINE_TRACING_REASON)
        acknowledge_guard(
            state_machine,
            ["step_functions_state_machine_tracing_enabled_check"],
            STATE_MACHINE_TRACING_REASON,
        )
