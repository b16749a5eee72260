"""The custom resource provider shared by every TrainingJob of a stack."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import jsii
from aws_cdk import ArnFormat, Duration, IListProducer, IResolveContext, Lazy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IValidation

from ._nag import acknowledge, add_statement, rules, wildcard_findings
from .handler.properties import QUERY_INTERVAL_SECONDS

PACKAGE_DIR = Path(__file__).resolve().parent
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Only the handler package ships: no caches, nothing of the construct library.
HANDLER_ASSET_EXCLUDE = ["*", "!handler", "!handler/*.py"]

#: The actions the provider performs on the training jobs of its stack.
TRAINING_JOB_ACTIONS = [
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:DeleteTrainingJob",
    "sagemaker:UpdateTrainingJob",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]

#: CloudFormation waits for a custom resource at most one hour (ServiceTimeout).
MAX_SERVICE_TIMEOUT = Duration.hours(1)

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TRAINING_LOG_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
)
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"

_STACK_PREFIX_CHARS = 20
_JOB_PREFIX_CHARS = 50


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


@jsii.implements(IListProducer)
class _ListOf:
    """The current items of a list, read each time the token resolves."""

    def __init__(self, items: list[str]) -> None:
        self._items = items

    def produce(self, context: IResolveContext) -> list[str] | None:
        return list(self._items)


@jsii.implements(IValidation)
class _HasJobs:
    def __init__(self, provider: TrainingJobProvider) -> None:
        self._provider = provider

    def validate(self) -> list[str]:
        if self._provider._passed_role_arns:
            return []
        return [
            f"[{self._provider.node.path}] the training job provider serves no TrainingJob: "
            "remove it, or add a TrainingJob to its stack"
        ]


class TrainingJobProvider(Construct):
    """One per stack: the Lambda handlers and the ``custom_resources.Provider``
    that create, wait for and delete the stack's training jobs.

    Get it with :meth:`of`; :class:`TrainingJob` does so itself.
    """

    CONSTRUCT_ID = "SageMakerTrainingJobProvider"

    @classmethod
    def of(cls, scope: Construct) -> TrainingJobProvider:
        """The provider of ``scope``'s stack, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if existing is None:
            return cls(stack, cls.CONSTRUCT_ID)
        if not isinstance(existing, TrainingJobProvider):
            raise ValueError(
                f"[{stack.node.path}] the construct id {cls.CONSTRUCT_ID!r} is reserved for "
                f"the training job provider, but holds a {type(existing).__name__}"
            )
        return existing

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        name_source = stack.stack_name if not Token.is_unresolved(stack.stack_name) else ""
        name_source = name_source or stack.node.path
        #: Generated job names of this stack start with ``<job_name_prefix>-``; the
        #: provider's permissions cover exactly those names (plus explicit ones).
        self.job_name_prefix = (
            f"{_slug(name_source)[:_STACK_PREFIX_CHARS].rstrip('-') or 'stack'}"
            f"-{_short_hash(name_source)}"
        )

        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Creates, waits for and stops the SageMaker training jobs of this stack",
        )
        # Jobs register after the statements exist (and possibly after a synth froze
        # them): their resources are lists read at synthesis.
        self._job_arns = [self._job_arn(f"{self.job_name_prefix}-*")]
        self._passed_role_arns: list[str] = []
        self._passed_roles: set[int] = set()
        self._watches_network = False
        self._execution_policy: iam.ManagedPolicy | None = None
        self.node.add_validation(_HasJobs(self))
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(TRAINING_JOB_ACTIONS),
                resources=Lazy.uncached_list(_ListOf(self._job_arns)),
            )
        )
        acknowledge(
            self,
            wildcard_findings(stack, [], [self._job_arns[0]]),
            "Generated job names are '<stack prefix>-<hash>': the provider may act on the "
            "training jobs of this stack's name prefix only.",
        )
        # A rollback must not start a job: the handler tells it from an update by
        # the status of its own stack, and of that stack only.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"], resources=[stack.stack_id]
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=Lazy.uncached_list(_ListOf(self._passed_role_arns)),
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )

        code = lambda_.Code.from_asset(str(PACKAGE_DIR), exclude=HANDLER_ASSET_EXCLUDE)
        self._code = code
        self._signal_function: lambda_.Function | None = None
        self.on_event_function = self._function(
            "OnEvent", "handler.index.on_event", code, Duration.minutes(5)
        )
        self.is_complete_function = self._function(
            "IsComplete", "handler.index.is_complete", code, Duration.minutes(2)
        )
        # The framework's functions get roles of ours (not the AWS managed basic
        # execution policy) writing to one log group, and the waiter logs every event.
        framework_logs = logs.LogGroup(self, "FrameworkLogs", retention=logs.RetentionDays.ONE_YEAR)
        on_event_role = self._lambda_role("FrameworkOnEventRole", "Provider framework: onEvent")
        waiter_role = self._lambda_role(
            "FrameworkWaiterRole", "Provider framework: isComplete and onTimeout"
        )
        for framework_role in (on_event_role, waiter_role):
            framework_logs.grant_write(framework_role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=Duration.seconds(QUERY_INTERVAL_SECONDS),
            # Each job's own ServiceTimeout (at most this) bounds its wait.
            total_timeout=MAX_SERVICE_TIMEOUT,
            framework_on_event_role=on_event_role,
            framework_complete_and_timeout_role=waiter_role,
            log_group=framework_logs,
            # The framework disables the waiter's logging unless told not to.
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=logs.LogGroup(
                    self, "WaiterLogs", retention=logs.RetentionDays.ONE_YEAR
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        self._acknowledge_framework()

    @property
    def signal_function(self) -> lambda_.Function:
        """The function that signals wait conditions from jobs' state-change events
        (created with the first job in ``wait_condition`` mode). EventBridge invokes
        it asynchronously: events it could not handle land in its dead-letter queue."""
        if self._signal_function is None:
            role = self._lambda_role(
                "SignalRole", "Signals the wait conditions of this stack's training jobs"
            )
            dead_letters = sqs.Queue(
                self,
                "SignalDeadLetters",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            acknowledge(
                dead_letters,
                ["AwsSolutions-SQS3"],
                "This queue is the signalling function's dead-letter queue itself.",
            )
            self._signal_function = self._function(
                "Signal",
                "handler.signal.handler",
                self._code,
                Duration.seconds(30),
                role=role,
                dead_letter_queue=dead_letters,
            )
        return self._signal_function

    def _lambda_role(self, construct_id: str, description: str) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )
        return role

    def _acknowledge_framework(self) -> None:
        """What the provider's functions and the framework cannot change."""
        stack = Stack.of(self)
        acknowledge(
            self,
            rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "Each role of the provider has its own default policy, scoped to what that "
            "function does; a shared managed policy would widen them.",
        )
        acknowledge(
            self,
            rules("CloudWatchLogGroupEncrypted", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "These log groups hold the provider's request logs (job names and settings, "
            "no training data or secrets); CloudWatch Logs encrypts them at rest.",
        )
        acknowledge(
            self,
            ["AwsSolutions-SF2"],
            "The provider framework's waiter state machine offers no X-Ray tracing "
            "option; it logs every event to its own log group instead.",
        )
        acknowledge(
            self,
            wildcard_findings(stack, ["logs:CreateLogDelivery"], ["*"]),
            "Step Functions log delivery (logs:*LogDelivery, logs:Describe*) supports no "
            "resource scoping: IAM requires '*'.",
        )
        self._acknowledge_functions()

    def _acknowledge_functions(self) -> None:
        stack = Stack.of(self)
        functions = [c for c in self.node.find_all() if isinstance(c, lambda_.Function)]
        acknowledge(
            self,
            [
                finding
                for function in functions
                for finding in wildcard_findings(stack, [], [f"{function.function_arn}:*"])
            ],
            "The provider framework invokes its functions and their versions (<ARN>:*), "
            "within this provider only.",
        )
        acknowledge(
            self,
            rules("LambdaConcurrency", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "The provider's functions run only during deployments; a reserved concurrency "
            "would throttle stacks that create many jobs at once.",
        )
        acknowledge(
            self,
            rules("LambdaInsideVPC", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "The provider's functions only call AWS APIs (SageMaker, EC2 describe, "
            "CloudFormation); in a VPC they would need NAT or endpoints of the user's.",
        )
        acknowledge(
            self,
            rules("LambdaDLQ", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "The provider framework invokes its functions synchronously and reports "
            "their errors to CloudFormation: a dead-letter queue would receive nothing. "
            "(The signalling function, invoked asynchronously, has one.)",
        )

    @property
    def execution_policy(self) -> iam.ManagedPolicy:
        """What every execution role of this stack's jobs needs alike, in one managed
        policy attached to each: the SageMaker training log group, the training
        metrics namespace, and the ECR authorization token."""
        if self._execution_policy is None:
            stack = Stack.of(self)
            log_group = stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=TRAINING_LOG_GROUP,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            logs_resources = [log_group, f"{log_group}:log-stream:*"]
            policy = iam.ManagedPolicy(
                self,
                "ExecutionPolicy",
                description="What every SageMaker training job of this stack needs alike",
                statements=[
                    iam.PolicyStatement(
                        actions=list(TRAINING_LOG_ACTIONS), resources=logs_resources
                    ),
                    # cloudwatch:PutMetricData supports no resource scoping; the
                    # namespace condition limits it to SageMaker's training metrics.
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
            self._execution_policy = policy
        return self._execution_policy

    @property
    def service_token(self) -> str:
        """The ``ServiceToken`` of the stack's training job custom resources."""
        return self.provider.service_token

    def job_name_prefix_for(self, construct_id: str) -> str:
        """The name prefix of a job with generated names (``<stack prefix>-<id>``)."""
        prefix = f"{self.job_name_prefix}-{_slug(construct_id)}"
        return prefix[:_JOB_PREFIX_CHARS].rstrip("-")

    def register_job(
        self, *, execution_role: iam.IRole, job_name: str | None, uses_vpc: bool = False
    ) -> None:
        """Allow the provider to pass ``execution_role`` to SageMaker; for a job with
        an explicit name, to act on that name; for a VPC job, to watch its network
        interfaces being released on delete."""
        if uses_vpc and not self._watches_network:
            self._watches_network = True
            add_statement(
                self.role,
                actions=["ec2:DescribeNetworkInterfaces"],
                resources=["*"],
                reason="ec2:DescribeNetworkInterfaces supports no resource scoping: IAM requires "
                "'*'. The provider only reads, to wait for a VPC job's interfaces on delete.",
            )
        if job_name is not None:
            names = {job_name} if Token.is_unresolved(job_name) else {job_name, job_name.lower()}
            # SageMaker ARNs may carry the name lower-cased: cover both spellings.
            self._job_arns.extend(self._job_arn(n) for n in sorted(names))
        if id(execution_role) in self._passed_roles:
            return
        self._passed_roles.add(id(execution_role))
        self._passed_role_arns.append(execution_role.role_arn)

    def _job_arn(self, name: str) -> str:
        return Stack.of(self).format_arn(
            service="sagemaker", resource="training-job", resource_name=name
        )

    def _function(
        self,
        construct_id: str,
        handler: str,
        code: lambda_.Code,
        timeout: Duration,
        *,
        role: iam.IRole | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> lambda_.Function:
        role = role or self.role
        log_group = logs.LogGroup(
            self, f"{construct_id}Logs", retention=logs.RetentionDays.ONE_YEAR
        )
        function = lambda_.Function(
            self,
            construct_id,
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            role=role,
            timeout=timeout,
            memory_size=256,
            log_group=log_group,
            dead_letter_queue=dead_letter_queue,
            description=f"SageMaker training job provider: {construct_id}",
        )
        log_group.grant_write(role)
        return function
