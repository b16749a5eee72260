"""The custom resource provider shared by every TrainingJob of a stack."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnResource,
    Duration,
    IListProducer,
    IResolveContext,
    Lazy,
    Stack,
    Token,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IValidation

from ._limits import IamLimits, watch_template_size
from ._nag import (
    KMS_ENCRYPT_DECRYPT,
    acknowledge,
    acknowledge_guard,
    add_statement,
    rules,
    skip_checkov,
    wildcard_findings,
)
from ._network import selected_subnet_ids
from .handler.kinds import TRAINING, TUNING, JobKind
from .handler.properties import QUERY_INTERVAL_SECONDS

PACKAGE_DIR = Path(__file__).resolve().parent
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Only the handler package ships (its code and its service models): no caches,
# nothing of the construct library.
HANDLER_ASSET_EXCLUDE = ["*", "!handler", "!handler/*.py", "!handler/models", "!handler/models/**"]

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

#: The actions the provider performs on the hyperparameter tuning jobs of its stack.
TUNING_JOB_ACTIONS = [
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:StopHyperParameterTuningJob",
    "sagemaker:DeleteHyperParameterTuningJob",
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

_LOGS_REASON = (
    "These log groups hold the provider's request logs (job names and settings, no "
    "training data or secrets); CloudWatch Logs encrypts them at rest. "
    "TrainingJobProvider.configure(encryption_key=...) encrypts them with your key."
)
_TRACING_REASON = (
    "The provider framework's waiter state machine has no X-Ray tracing option, and its "
    "functions are traced only with TrainingJobProvider.configure(tracing=True); the "
    "waiter logs every event to its own log group."
)
_CONCURRENCY_REASON = (
    "The provider's functions run only during deployments; a reserved concurrency "
    "would throttle stacks that create many jobs at once."
)
_DLQ_REASON = (
    "The provider framework invokes its functions synchronously and reports their "
    "errors to CloudFormation: a dead-letter queue would receive nothing. (The "
    "signalling function, invoked asynchronously, has one.)"
)
_VPC_REASON = (
    "The provider's functions only call AWS APIs (SageMaker, EC2 describe, "
    "CloudFormation, Lambda, Step Functions); TrainingJobProvider.configure(vpc=...) "
    "runs them in your VPC, which then needs NAT or endpoints."
)
_ENVIRONMENT_REASON = (
    "The provider framework's environment holds the ARNs of its functions and state "
    "machine only; Lambda encrypts it at rest. TrainingJobProvider.configure("
    "encryption_key=...) encrypts it with your key."
)
_VPC_ACCESS_POLICY = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
)
_VPC_ACCESS_REASON = (
    "aws-cdk-lib attaches AWS's Lambda VPC access policy to a function in a VPC: the "
    "network-interface actions Lambda needs support no resource scoping."
)
#: Roles per iam:PassRole statement of the provider (about 3,000 characters).
PASS_ROLE_CHUNK = 50
_STACK_PREFIX_CHARS = 20
_JOB_PREFIX_CHARS = 50
# Tuning job names have 32 characters: 12 go to the handler's hash and its dash, so a
# prefix has 19, of which the stack's part takes at most 12 (5 + dash + 6-digit hash).
_TUNING_STACK_PREFIX_CHARS = 5
_TUNING_PREFIX_CHARS = TUNING.max_name_length - 13


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
        if self._provider._execution_roles:
            return []
        return [
            f"[{self._provider.node.path}] the training job provider serves no TrainingJob "
            "or HyperparameterTuningJob: remove it, or add a job to its stack"
        ]


#: What the provider's functions call, as interface endpoint service names (S3 may be
#: a gateway endpoint): the handler SageMaker, EC2 (network interfaces on delete) and
#: CloudFormation (the stack's status); the framework Lambda, Step Functions and S3
#: (CloudFormation's response URL); the signaller S3 (the wait condition's URL).
#: CloudWatch Logs needs none: Lambda delivers the functions' logs itself.
ENDPOINT_SERVICES = ("sagemaker.api", "ec2", "cloudformation", "lambda", "states", "s3")
ENDPOINTS_WARNING_ID = "constructs-lib:provider-endpoints"
X_RAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
X_RAY_SAMPLING_ACTIONS = ["xray:GetSamplingRules", "xray:GetSamplingTargets"]


@dataclass(frozen=True)
class ProviderOptions:
    """How a stack's provider is built: see :meth:`TrainingJobProvider.configure`."""

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: tuple[ec2.ISecurityGroup, ...] | None = None
    encryption_key: kms.IKey | None = None
    log_retention: logs.RetentionDays | None = None
    tracing: bool = False

    def describe(self) -> str:
        """The options as a reader of an error message wants them."""
        shown = {
            "vpc": self.vpc.node.path if self.vpc is not None else None,
            "vpc_subnets": self.vpc_subnets,
            "security_groups": (
                [g.node.path for g in self.security_groups] if self.security_groups else None
            ),
            "encryption_key": (
                self.encryption_key.node.path if self.encryption_key is not None else None
            ),
            "log_retention": self.log_retention.name if self.log_retention else None,
            "tracing": self.tracing or None,
        }
        chosen = ", ".join(f"{k}={v}" for k, v in shown.items() if v is not None)
        return f"configure({chosen})" if chosen else "the defaults (no configure)"


@dataclass(frozen=True)
class _Network:
    """Where the library's functions run."""

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: list[ec2.ISecurityGroup] | None = None


@jsii.implements(IValidation)
class _EndpointsReachable:
    """Warns when the provider's subnets have neither NAT nor the endpoints its
    functions call (read at synthesis: endpoints may be added after configure)."""

    def __init__(self, provider: TrainingJobProvider, vpc: ec2.IVpc, subnet_ids: list[str]) -> None:
        self._provider = provider
        self._vpc = vpc
        self._subnet_ids = subnet_ids

    def validate(self) -> list[str]:
        with_egress = {subnet.subnet_id for subnet in self._vpc.private_subnets}
        if all(subnet_id in with_egress for subnet_id in self._subnet_ids):
            return []
        needed = list(ENDPOINT_SERVICES)
        if self._provider.options.tracing:
            needed.append("xray")
        present = _endpoint_services(self._provider, self._vpc)
        missing = [service for service in needed if service not in present]
        if missing:
            Annotations.of(self._provider).add_warning_v2(
                ENDPOINTS_WARNING_ID,
                f"The provider's functions run in subnets of {self._vpc.node.path} without "
                "a NAT route, and this app defines no VPC endpoint there for: "
                f"{', '.join(missing)}. Without them the functions cannot reach those "
                "services and every deploy of a training job hangs until CloudFormation "
                "times out. Add interface endpoints (vpc.add_interface_endpoint(...); "
                "a gateway endpoint for s3), select subnets with egress, or acknowledge "
                "this warning if the VPC has them outside this app.",
            )
        return []


def _endpoint_services(scope: Construct, vpc: ec2.IVpc) -> set[str]:
    """The services of the VPC endpoints this app defines for ``vpc`` (the last
    parts of their service names, e.g. ``sagemaker.api``)."""
    vpc_id = vpc.vpc_id
    found: set[str] = set()
    for construct in scope.node.root.node.find_all():
        if isinstance(construct, ec2.CfnVPCEndpoint) and construct.vpc_id == vpc_id:
            # A plain string, or a token that resolves to one joined with the region.
            name = json.dumps(Stack.of(construct).resolve(construct.service_name))
            for service in (*ENDPOINT_SERVICES, "xray"):
                if name.endswith(f'.{service}"') or name.endswith(f'.{service}"]]}}'):
                    found.add(service)
    return found


class TrainingJobProvider(Construct):
    """One per stack: the Lambda handlers and the ``custom_resources.Provider``
    that create, wait for and delete the stack's training jobs.

    Get it with :meth:`of`; :class:`TrainingJob` does so itself.
    """

    CONSTRUCT_ID = "SageMakerTrainingJobProvider"

    @classmethod
    def of(cls, scope: Construct) -> TrainingJobProvider:
        """The provider of ``scope``'s stack, created on first use (with the options of
        :meth:`configure`, if it was called, else the defaults)."""
        stack = Stack.of(scope)
        existing = cls._existing(stack)
        if existing is None:
            provider = cls(stack, cls.CONSTRUCT_ID, options=ProviderOptions())
            provider._created_by = scope.node.path
            return provider
        return existing

    @classmethod
    def configure(
        cls,
        scope: Construct,
        *,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays | None = None,
        tracing: bool | None = None,
    ) -> TrainingJobProvider:
        """Build the provider of ``scope``'s stack to your rules; call it before the
        stack's first :class:`TrainingJob`. Returns the stack's provider.

        Example::

            TrainingJobProvider.configure(stack, vpc=vpc, encryption_key=key, tracing=True)
            TrainingJob(stack, "Train", ...)

        :param vpc: run every Lambda function of the library (handler, signaller and
            the provider framework's) in this VPC. Subnets without NAT need VPC
            endpoints for SageMaker API, EC2, CloudFormation, Lambda, Step Functions
            and S3 (and X-Ray with ``tracing``): synth warns about missing ones.
            Default: no VPC.
        :param vpc_subnets: default: the VPC's private subnets (with egress, else
            isolated).
        :param security_groups: default: one security group for the functions,
            allowing HTTPS out only.
        :param encryption_key: encrypts the library's log groups (the key's policy
            lets CloudWatch Logs of this account and region use it), the signaller's
            dead-letter queue and the functions' environments. Default: AWS managed
            encryption.
        :param log_retention: retention of the library's log groups; default: one year.
        :param tracing: X-Ray tracing of the functions and the framework's waiter
            state machine; default: off.
        """
        stack = Stack.of(scope)
        options = ProviderOptions(
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=tuple(security_groups) if security_groups is not None else None,
            encryption_key=encryption_key,
            log_retention=log_retention,
            tracing=bool(tracing),
        )
        if vpc is None and (vpc_subnets is not None or security_groups is not None):
            raise ValueError(
                f"[{stack.node.path}] TrainingJobProvider.configure: vpc: None is invalid: "
                "vpc_subnets and security_groups need a vpc"
            )
        existing = cls._existing(stack)
        if existing is None:
            provider = cls(stack, cls.CONSTRUCT_ID, options=options)
            provider._created_by = f"TrainingJobProvider.configure at {scope.node.path}"
            return provider
        if existing.options != options:
            raise ValueError(
                f"[{existing.node.path}] TrainingJobProvider.configure: "
                f"{options.describe()} is invalid: the stack's provider already exists, "
                f"built with {existing.options.describe()} for {existing._created_by}. "
                "Configure the provider once, before the stack's first TrainingJob."
            )
        return existing

    @staticmethod
    def endpoint_services(*, tracing: bool = False) -> list[ec2.InterfaceVpcEndpointAwsService]:
        """The interface endpoints the library's functions call, for a
        :meth:`configure` ``vpc`` whose subnets have no NAT: SageMaker API, EC2,
        CloudFormation, Lambda, Step Functions (and X-Ray with ``tracing``). S3 needs
        an endpoint too, best a gateway one (``ec2.GatewayVpcEndpointAwsService.S3``).

        Example::

            for service in TrainingJobProvider.endpoint_services(tracing=True):
                vpc.add_interface_endpoint(service.short_name, service=service)
        """
        services = [
            ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
            ec2.InterfaceVpcEndpointAwsService.EC2,
            ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION,
            ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
            ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
        ]
        if tracing:
            services.append(ec2.InterfaceVpcEndpointAwsService.XRAY)
        return services

    @classmethod
    def _existing(cls, stack: Stack) -> TrainingJobProvider | None:
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if existing is not None and not isinstance(existing, TrainingJobProvider):
            raise ValueError(
                f"[{stack.node.path}] the construct id {cls.CONSTRUCT_ID!r} is reserved for "
                f"the training job provider, but holds a {type(existing).__name__}"
            )
        return existing

    def __init__(
        self, scope: Construct, construct_id: str, *, options: ProviderOptions | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        #: How this provider was built (:meth:`configure`, or the defaults).
        self.options = options or ProviderOptions()
        self._created_by = self.node.path
        stack = Stack.of(self)
        name_source = stack.stack_name if not Token.is_unresolved(stack.stack_name) else ""
        name_source = name_source or stack.node.path
        #: Generated job names of this stack start with ``<job_name_prefix>-``; the
        #: provider's permissions cover exactly those names (plus explicit ones).
        self.job_name_prefix = (
            f"{_slug(name_source)[:_STACK_PREFIX_CHARS].rstrip('-') or 'stack'}"
            f"-{_short_hash(name_source)}"
        )
        #: Generated tuning job names of this stack (at most 32 characters) start with
        #: ``<tuning_name_prefix>-``, and so do the names of their training jobs.
        self.tuning_name_prefix = (
            f"{_slug(name_source)[:_TUNING_STACK_PREFIX_CHARS].rstrip('-') or 'stack'}"
            f"-{_short_hash(name_source)}"
        )
        self._tuning_arns: list[str] | None = None
        self._tuned_training_arns: list[str] = []

        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Creates, waits for and stops the SageMaker training jobs of this stack",
        )
        # Jobs register after the statements exist (and possibly after a synth froze
        # them): their resources are lists read at synthesis.
        self._job_arns = [self._job_arn(f"{self.job_name_prefix}-*")]
        self._passed_roles: set[int] = set()
        self._execution_roles: list[iam.IRole] = []
        self._watches_network = False
        self._execution_policy: iam.ManagedPolicy | None = None
        self._logs_may_use_key = False
        self.node.add_validation(_HasJobs(self))
        watch_template_size(stack)
        self.node.add_validation(
            IamLimits(
                self,
                lambda: [
                    *self._execution_roles,
                    *(c for c in self.node.find_all() if isinstance(c, iam.Role)),
                ],
            )
        )
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
        # iam:PassRole on exactly the jobs' roles, in statements of PASS_ROLE_CHUNK
        # roles: concrete lists (not a Lazy), so that aws-cdk-lib sizes them and moves
        # a policy that outgrows IAM's 10,240 characters into overflow policies.
        self._pass_role_statement: iam.PolicyStatement | None = None

        self._network = self._function_network()
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
        framework_logs = self._log_group("FrameworkLogs")
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
                destination=self._log_group("WaiterLogs"),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            vpc=self._network.vpc,
            vpc_subnets=self._network.vpc_subnets,
            security_groups=self._network.security_groups,
            provider_function_env_encryption=self.options.encryption_key,
        )
        self._framework_roles = (on_event_role, waiter_role)
        if self.options.tracing:
            self._trace_framework()
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
            key = self.options.encryption_key
            dead_letters = sqs.Queue(
                self,
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
            self._signal_function = self._function(
                "Signal",
                "handler.signal.handler",
                self._code,
                Duration.seconds(30),
                role=role,
                dead_letter_queue=dead_letters,
            )
            if key is not None:
                acknowledge(
                    role,
                    [f"AwsSolutions-IAM5[Action::{a}]" for a in KMS_ENCRYPT_DECRYPT if "*" in a],
                    "aws-cdk-lib's grant to send to a KMS-encrypted queue: the wildcards are "
                    "the variants of kms:ReEncrypt and kms:GenerateDataKey, on this key only.",
                )
            self._acknowledge_function_defaults(self._signal_function, synchronous=False)
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
        """What the provider's functions and the framework cannot change, or what
        :meth:`configure` was not asked to change."""
        stack = Stack.of(self)
        acknowledge(
            self,
            rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "Each role of the provider has its own default policy, scoped to what that "
            "function does; a shared managed policy would widen them.",
        )
        if self.options.encryption_key is None:
            acknowledge(
                self,
                rules("CloudWatchLogGroupEncrypted", packs=("NIST.800.53.R5", "HIPAA.Security")),
                _LOGS_REASON,
            )
        waiter = self.provider.node.find_child("waiter-state-machine")
        if not self.options.tracing:
            acknowledge(self, ["AwsSolutions-SF2"], _TRACING_REASON)
            acknowledge_guard(
                waiter, ["step_functions_state_machine_tracing_enabled_check"], _TRACING_REASON
            )
        log_delivery = (
            "Step Functions log delivery (logs:*LogDelivery, logs:Describe*) supports no "
            "resource scoping: IAM requires '*'."
        )
        acknowledge(self, wildcard_findings(stack, ["logs:CreateLogDelivery"], ["*"]), log_delivery)
        waiter_policy = waiter.node.find_child("Role").node.find_child("DefaultPolicy")
        skip_checkov(
            waiter_policy.node.default_child,  # type: ignore[arg-type]
            ["CKV_AWS_111"],
            log_delivery,
        )
        if self.options.vpc is not None:
            for role in (self.role, *self._framework_roles):
                acknowledge(
                    role,
                    [f"AwsSolutions-IAM4[Policy::{_VPC_ACCESS_POLICY}]"],
                    _VPC_ACCESS_REASON,
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
            _CONCURRENCY_REASON,
        )
        if self.options.vpc is None:
            acknowledge(
                self,
                rules("LambdaInsideVPC", packs=("NIST.800.53.R5", "HIPAA.Security")),
                _VPC_REASON,
            )
        acknowledge(
            self, rules("LambdaDLQ", packs=("NIST.800.53.R5", "HIPAA.Security")), _DLQ_REASON
        )
        for function in functions:
            self._acknowledge_function_defaults(function, synchronous=True)

    def _acknowledge_function_defaults(
        self, function: lambda_.Function, *, synchronous: bool
    ) -> None:
        """checkov's and the Control Tower rules' findings on one function of ours."""
        resource: CfnResource = function.node.default_child  # type: ignore[assignment]
        skip_checkov(resource, ["CKV_AWS_115"], _CONCURRENCY_REASON)
        if synchronous:
            skip_checkov(resource, ["CKV_AWS_116"], _DLQ_REASON)
        if self.options.vpc is None:
            skip_checkov(resource, ["CKV_AWS_117"], _VPC_REASON)
            acknowledge_guard(function, ["lambda_inside_vpc_check"], _VPC_REASON)
        framework = function.node.scope is not self
        if self.options.encryption_key is None and framework:
            skip_checkov(resource, ["CKV_AWS_173"], _ENVIRONMENT_REASON)

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

    def tuning_name_prefix_for(self, construct_id: str) -> str:
        """The name prefix of a tuning job with generated names (``<short stack
        prefix>-<id>``, at most 19 characters: the names have 32)."""
        prefix = f"{self.tuning_name_prefix}-{_slug(construct_id)}"
        return prefix[:_TUNING_PREFIX_CHARS].rstrip("-")

    def register_job(
        self,
        *,
        execution_role: iam.IRole,
        job_name: str | None,
        uses_vpc: bool = False,
        kind: JobKind = TRAINING,
    ) -> None:
        """Allow the provider to pass ``execution_role`` to SageMaker; for a job with
        an explicit name, to act on that name; for a VPC job, to watch its network
        interfaces being released on delete. A tuning job (``kind``) also lets the
        provider act on the tuning jobs of this stack and read their training jobs."""
        if uses_vpc and not self._watches_network:
            self._watches_network = True
            add_statement(
                self.role,
                actions=["ec2:DescribeNetworkInterfaces"],
                resources=["*"],
                reason="ec2:DescribeNetworkInterfaces supports no resource scoping: IAM requires "
                "'*'. The provider only reads, to wait for a VPC job's interfaces on delete.",
            )
        if kind is TUNING:
            self._allow_tuning(job_name)
        elif job_name is not None:
            names = {job_name} if Token.is_unresolved(job_name) else {job_name, job_name.lower()}
            # SageMaker ARNs may carry the name lower-cased: cover both spellings.
            self._job_arns.extend(self._job_arn(n) for n in sorted(names))
        if id(execution_role) in self._passed_roles:
            return
        self._passed_roles.add(id(execution_role))
        self._execution_roles.append(execution_role)
        self._allow_pass_role(execution_role.role_arn)

    def _allow_tuning(self, job_name: str | None) -> None:
        """The tuning actions on this stack's tuning jobs (its prefix, and fixed names),
        and DescribeTrainingJob on their training jobs (SageMaker names them
        ``<tuning job name>-<number>-<hash>``): the best one's artifacts are read."""
        stack = Stack.of(self)
        if self._tuning_arns is None:
            prefix = f"{self.tuning_name_prefix}-*"
            self._tuning_arns = [self._job_arn(prefix, "hyper-parameter-tuning-job")]
            self._tuned_training_arns.append(self._job_arn(prefix))
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(TUNING_JOB_ACTIONS),
                    resources=Lazy.uncached_list(_ListOf(self._tuning_arns)),
                )
            )
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeTrainingJob"],
                    resources=Lazy.uncached_list(_ListOf(self._tuned_training_arns)),
                )
            )
            acknowledge(
                self,
                wildcard_findings(stack, [], [self._tuning_arns[0], self._tuned_training_arns[0]]),
                "Generated tuning job names are '<stack prefix>-<hash>', and SageMaker names "
                "their training jobs '<tuning job name>-<number>-<hash>': the provider may "
                "act on the tuning jobs of this stack's prefix only, and only read their "
                "training jobs.",
            )
        if job_name is not None:
            names = {job_name} if Token.is_unresolved(job_name) else {job_name, job_name.lower()}
            training_arns = [self._job_arn(f"{name}-*") for name in sorted(names)]
            self._tuning_arns.extend(
                self._job_arn(name, "hyper-parameter-tuning-job") for name in sorted(names)
            )
            self._tuned_training_arns.extend(training_arns)
            acknowledge(
                self,
                wildcard_findings(stack, [], training_arns),
                "SageMaker names a tuning job's training jobs '<tuning job name>-<number>-"
                "<hash>': the provider only reads those of this stack's tuning jobs.",
            )

    def _allow_pass_role(self, role_arn: str) -> None:
        statement = self._pass_role_statement
        if statement is not None and (len(self._execution_roles) - 1) % PASS_ROLE_CHUNK:
            try:
                statement.add_resources(role_arn)
                return
            except RuntimeError:
                pass  # frozen by an earlier synthesis: start another statement
        self._pass_role_statement = iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
        self.role.add_to_principal_policy(self._pass_role_statement)

    def _job_arn(self, name: str, resource: str = "training-job") -> str:
        return Stack.of(self).format_arn(service="sagemaker", resource=resource, resource_name=name)

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
        log_group = self._log_group(f"{construct_id}Logs")
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
            environment_encryption=self.options.encryption_key,
            tracing=lambda_.Tracing.ACTIVE if self.options.tracing else None,
            vpc=self._network.vpc,
            vpc_subnets=self._network.vpc_subnets,
            security_groups=self._network.security_groups,
        )
        log_group.grant_write(role)
        if self.options.tracing:
            acknowledge(
                role,
                ["AwsSolutions-IAM5[Resource::*]"],
                "X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords support no "
                "resource scoping: IAM requires '*'.",
            )
        return function

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        """A log group of the library: the configured key and retention."""
        key = self.options.encryption_key
        log_group = logs.LogGroup(
            self,
            construct_id,
            retention=self.options.log_retention or logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
        )
        if key is None:
            skip_checkov(
                log_group.node.default_child,  # type: ignore[arg-type]
                ["CKV_AWS_158"],
                _LOGS_REASON,
            )
            acknowledge_guard(log_group, ["cloudwatch_log_group_encrypted_check"], _LOGS_REASON)
        elif not self._logs_may_use_key:
            self._logs_may_use_key = True
            self._let_logs_use(key)
        return log_group

    def _let_logs_use(self, key: kms.IKey) -> None:
        """CloudWatch Logs of this account and region may use the key for log groups
        (a key imported into the app cannot be changed: its policy must say so)."""
        stack = Stack.of(self)
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

    def _function_network(self) -> _Network:
        """Where every function of the library runs (no VPC by default)."""
        vpc = self.options.vpc
        if vpc is None:
            return _Network()
        selection = self.options.vpc_subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            if vpc.private_subnets
            else ec2.SubnetType.PRIVATE_ISOLATED
        )
        subnet_ids = selected_subnet_ids(vpc, selection)
        if not subnet_ids:
            raise ValueError(
                f"[{self.node.path}] TrainingJobProvider.configure: vpc_subnets: {selection!r} "
                f"is invalid: it selects no subnet of {vpc.node.path}"
            )
        groups = self.options.security_groups
        if groups is None:
            group = ec2.SecurityGroup(
                self,
                "FunctionsSecurityGroup",
                vpc=vpc,
                description="Training job provider functions: HTTPS to AWS APIs only",
                allow_all_outbound=False,
            )
            group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
            groups = (group,)
        self.node.add_validation(_EndpointsReachable(self, vpc, subnet_ids))
        return _Network(vpc=vpc, vpc_subnets=selection, security_groups=list(groups))

    def _trace_framework(self) -> None:
        """X-Ray on the framework's functions and its waiter state machine, which
        aws-cdk-lib's Provider offers no option for."""
        for child in self.provider.node.find_all():
            if isinstance(child, lambda_.CfnFunction):
                child.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
            elif isinstance(child, sfn.CfnStateMachine):
                child.tracing_configuration = sfn.CfnStateMachine.TracingConfigurationProperty(
                    enabled=True
                )
        waiter_role = self.provider.node.find_child("waiter-state-machine").node.find_child("Role")
        reason = "X-Ray's trace and sampling actions support no resource scoping: IAM requires '*'."
        for role in (*self._framework_roles, waiter_role):
            actions = X_RAY_ACTIONS + (X_RAY_SAMPLING_ACTIONS if role is waiter_role else [])
            add_statement(
                role,  # type: ignore[arg-type]
                actions=actions,
                resources=["*"],
                reason=reason,
            )
