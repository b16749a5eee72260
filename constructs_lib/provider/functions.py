"""The provider's Lambda functions: the handler (the custom resources' service token,
which creates, waits for and stops the jobs, see ``handler/waiter.py``) and, with the
first job in ``wait_condition`` mode, the signaller; their log groups, all with the
configured network, key, retention and tracing."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .._shared.stacks import stack_of
from ..security._nag import KMS_ENCRYPT_DECRYPT, acknowledge, acknowledge_guard, skip_checkov
from . import compliance
from .network import Network
from .options import SIGNAL_CONCURRENCY, ProviderOptions
from .waiting import waiting_state_machine

#: The construct library's directory, of which the handler package is the asset.
PACKAGE_DIR = Path(__file__).resolve().parent.parent
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Only the handler package ships (its code and its service models): no caches,
# nothing of the construct library.
HANDLER_ASSET_EXCLUDE = ["*", "!handler", "!handler/*.py", "!handler/models", "!handler/models/**"]
#: The handler's longest invocation: one poll (or a start with its retries: a role not
#: yet assumable is retried for 150 s) takes far less; jobs wait in the state machine.
HANDLER_TIMEOUT = Duration.minutes(5)


class Functions:
    """Builds the provider's functions in ``scope`` to its options."""

    def __init__(self, scope: Construct, options: ProviderOptions, network: Network) -> None:
        self._scope = scope
        self._options = options
        self._network = network
        self._code = lambda_.Code.from_asset(str(PACKAGE_DIR), exclude=HANDLER_ASSET_EXCLUDE)
        self._logs_may_use_key = False

    def handler(self, role: iam.Role, function_name: str) -> lambda_.Function:
        """The custom resources' service token, and the waiting state machine's task.
        Its name is fixed (``function_name``), and the state machine's after it: each
        finds the other by name, without a reference cycle; it needs no further
        permission to answer CloudFormation."""
        function = self._function(
            "Handler",
            "handler.index.handle",
            HANDLER_TIMEOUT,
            role,
            function_name=function_name,
            reserved=self._options.max_concurrency,
        )
        waiting_state_machine(
            self._scope,
            self._options,
            function_name=function_name,
            log_group=self.log_group("WaitingLogs"),
            caller=role,
        )
        compliance.acknowledge_function(
            function,
            role,
            self._options,
            has_dlq=False,
            reserved=self._options.max_concurrency is not None,
        )
        return function

    def signal(self) -> lambda_.Function:
        """The function that signals wait conditions from jobs' state-change events.
        EventBridge invokes it asynchronously: what it could not handle lands in its
        dead-letter queue."""
        role = iam.Role(
            self._scope,
            "SignalRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Signals the wait conditions of this stack's training jobs",
        )
        key = self._options.encryption_key
        dead_letters = sqs.Queue(
            self._scope,
            "SignalDeadLetters",
            encryption=sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.SQS_MANAGED,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        itself = "This queue is the signalling function's dead-letter queue itself."
        acknowledge(dead_letters, ["AwsSolutions-SQS3"], itself)
        acknowledge_guard(dead_letters, ["sqs_dlq_check"], itself)
        if key is None:
            skip_checkov(
                dead_letters.node.default_child,  # type: ignore[arg-type]
                ["CKV_AWS_27"],
                "The queue is encrypted with SQS-managed keys (SqsManagedSseEnabled); "
                "TrainingJobProvider.configure(encryption_key=...) uses your key.",
            )
        function = self._function(
            "Signal",
            "handler.signal.handler",
            Duration.seconds(30),
            role,
            dead_letter_queue=dead_letters,
            reserved=SIGNAL_CONCURRENCY,
        )
        if key is not None:
            acknowledge(
                role,
                [f"AwsSolutions-IAM5[Action::{a}]" for a in KMS_ENCRYPT_DECRYPT if "*" in a],
                "aws-cdk-lib's grant to send to a KMS-encrypted queue: the wildcards are "
                "the variants of kms:ReEncrypt and kms:GenerateDataKey, on this key only.",
            )
        compliance.acknowledge_function(function, role, self._options, has_dlq=True, reserved=True)
        return function

    def _function(
        self,
        construct_id: str,
        handler: str,
        timeout: Duration,
        role: iam.Role,
        *,
        function_name: str | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        reserved: int | None = None,
    ) -> lambda_.Function:
        log_group = self.log_group(f"{construct_id}Logs")
        function = lambda_.Function(
            self._scope,
            construct_id,
            function_name=function_name,
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=self._code,
            role=role,
            timeout=timeout,
            memory_size=256,
            reserved_concurrent_executions=reserved,
            log_group=log_group,
            dead_letter_queue=dead_letter_queue,
            description=f"SageMaker training job provider: {construct_id}",
            environment_encryption=self._options.encryption_key,
            tracing=lambda_.Tracing.ACTIVE if self._options.tracing else None,
            vpc=self._network.vpc,
            vpc_subnets=self._network.vpc_subnets,
            security_groups=self._network.security_groups,
        )
        log_group.grant_write(role)
        return function

    def log_group(self, construct_id: str, scope: Construct | None = None) -> logs.LogGroup:
        """A log group of the library (in ``scope``, default: the provider's): the
        configured key and retention."""
        key = self._options.encryption_key
        log_group = logs.LogGroup(
            scope or self._scope,
            construct_id,
            retention=self._options.log_retention or logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
        )
        if key is None:
            compliance.acknowledge_log_group(log_group, outside_provider=scope is not None)
        elif not self._logs_may_use_key:
            self._logs_may_use_key = True
            _let_logs_use(self._scope, key)
        return log_group


def _let_logs_use(scope: Construct, key: kms.IKey) -> None:
    """CloudWatch Logs of this account and region may use the key for log groups
    (a key imported into the app cannot be changed: its policy must say so)."""
    stack = stack_of(scope)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
