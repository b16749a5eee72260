"""The custom resource provider shared by every job of a stack: one construct that
finds or creates itself per stack and holds what its parts build."""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Sequence

import jsii
from aws_cdk import Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IValidation

from .._shared.remembered import duration_of_seconds, role_arn
from .._shared.stacks import stack_of
from ..handler.kinds import PROCESSING, TRAINING, TRANSFORM, TUNING, JobKind
from ..handler.properties import MAX_SERVICE_TIMEOUT_SECONDS
from ..security._limits import IamLimits, watch_template_size
from . import compliance
from .execution import (
    PROCESSING_LOG_GROUP,
    PROCESSING_METRICS_NAMESPACE,
    execution_policy,
)
from .functions import Functions
from .network import endpoint_services, function_network
from .options import DEFAULT_MAX_CONCURRENCY, ProviderOptions
from .permissions import JobPermissions

#: CloudFormation waits for a custom resource at most one hour (ServiceTimeout).
MAX_SERVICE_TIMEOUT = duration_of_seconds(MAX_SERVICE_TIMEOUT_SECONDS)

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


#: The provider of each stack, once found or made (asked again for every job).
_PROVIDERS: weakref.WeakKeyDictionary[Stack, TrainingJobProvider] = weakref.WeakKeyDictionary()


def _check_concurrency(stack: Stack, value: object) -> None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return
    raise ValueError(
        f"[{stack.node.path}] TrainingJobProvider.configure: max_concurrency: {value!r} is "
        "invalid: a whole number of at least 1 (the handler's reserved concurrency), or "
        "None for no reservation"
    )


@jsii.implements(IValidation)
class _HasJobs:
    def __init__(self, provider: TrainingJobProvider) -> None:
        self._provider = provider

    def validate(self) -> list[str]:
        if self._provider._jobs:
            return []
        return [
            f"[{self._provider.node.path}] the training job provider serves no job (a "
            "TrainingJob, HyperparameterTuningJob, ProcessingJob or TransformJob): remove "
            "it, or add a job to its stack"
        ]


class TrainingJobProvider(Construct):
    """One per stack: the Lambda function that creates, waits for and deletes the
    stack's training and tuning jobs (the custom resources' service token), and its
    role.

    Get it with :meth:`of`; :class:`TrainingJob` does so itself.
    """

    CONSTRUCT_ID = "SageMakerTrainingJobProvider"

    @classmethod
    def of(cls, scope: Construct) -> TrainingJobProvider:
        """The provider of ``scope``'s stack, created on first use (with the options of
        :meth:`configure`, if it was called, else the defaults)."""
        stack = stack_of(scope)
        known = _PROVIDERS.get(stack)
        if known is not None:
            return known
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
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
    ) -> TrainingJobProvider:
        """Build the provider of ``scope``'s stack to your rules; call it before the
        stack's first :class:`TrainingJob`. Returns the stack's provider.

        Example::

            TrainingJobProvider.configure(stack, vpc=vpc, encryption_key=key, tracing=True)
            TrainingJob(stack, "Train", ...)

        :param vpc: run every Lambda function of the library (handler and signaller)
            in this VPC. Subnets without NAT need VPC endpoints for SageMaker API,
            EC2, CloudFormation, Step Functions and S3 (and X-Ray with ``tracing``): synth
            warns about missing ones. Default: no VPC.
        :param vpc_subnets: default: the VPC's private subnets (with egress, else
            isolated).
        :param security_groups: default: one security group for the functions,
            allowing HTTPS out only.
        :param encryption_key: encrypts the library's log groups (the key's policy
            lets CloudWatch Logs of this account and region use it), the signaller's
            dead-letter queue and the functions' environments. Default: AWS managed
            encryption.
        :param log_retention: retention of the library's log groups; default: one year.
        :param tracing: X-Ray tracing of the functions and the waiting state
            machine; default: off.
        :param max_concurrency: the handler function's reserved concurrency: no
            deploy takes more of the account's Lambda concurrency (jobs wait in a
            state machine, not in Lambda; a poll takes a fraction of a second, so 10
            serve hundreds of jobs). Lambda keeps 100 of the account's concurrency
            unreserved: an account whose quota leaves no room for it needs ``None``
            (no reservation). Default: 10.
        """
        stack = stack_of(scope)
        _check_concurrency(stack, max_concurrency)
        options = ProviderOptions(
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=tuple(security_groups) if security_groups is not None else None,
            encryption_key=encryption_key,
            log_retention=log_retention,
            tracing=bool(tracing),
            max_concurrency=max_concurrency,
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
    def endpoint_services(
        *, tracing: bool = False, queues: bool = False
    ) -> list[ec2.InterfaceVpcEndpointAwsService]:
        """The interface endpoints the library's functions call, for a
        :meth:`configure` ``vpc`` whose subnets have no NAT: SageMaker API, EC2,
        CloudFormation, Step Functions (and X-Ray with ``tracing``, AWS Batch with ``queues``:
        jobs through a TrainingQueue). S3 needs an endpoint too, best a gateway one
        (``ec2.GatewayVpcEndpointAwsService.S3``).

        Example::

            for service in TrainingJobProvider.endpoint_services(tracing=True):
                vpc.add_interface_endpoint(service.short_name, service=service)
        """
        return endpoint_services(tracing=tracing, queues=queues)

    @property
    def uses_queues(self) -> bool:
        """Whether a job of the stack goes through an AWS Batch queue (the provider
        then calls Batch's API)."""
        return self._permissions.has_queues

    @classmethod
    def _existing(cls, stack: Stack) -> TrainingJobProvider | None:
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if existing is not None and not isinstance(existing, TrainingJobProvider):
            raise ValueError(
                f"[{stack.node.path}] the construct id {cls.CONSTRUCT_ID!r} is reserved for "
                f"the training job provider, but holds a {type(existing).__name__}"
            )
        if existing is not None:
            _PROVIDERS[stack] = existing
        return existing

    def __init__(
        self, scope: Construct, construct_id: str, *, options: ProviderOptions | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self._service_token: str | None = None
        stack = stack_of(self)
        _PROVIDERS[stack] = self
        #: How this provider was built (:meth:`configure`, or the defaults).
        self.options = options or ProviderOptions()
        self._created_by = self.node.path
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
        self._passed_roles: set[int] = set()
        self._execution_roles: list[iam.IRole] = []
        #: How many jobs registered (a transform job brings no execution role).
        self._jobs = 0
        self._execution_policy: iam.ManagedPolicy | None = None
        self._processing_policy: iam.ManagedPolicy | None = None
        self._signal_function: lambda_.Function | None = None

        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Creates, waits for and stops the SageMaker jobs of this stack",
        )
        self._permissions = JobPermissions(
            self.role,
            stack=stack,
            job_name_prefix=self.job_name_prefix,
            tuning_name_prefix=self.tuning_name_prefix,
        )
        # A rollback must not start a job: the handler tells it from an update by
        # the status of its own stack, and of that stack only.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"], resources=[stack.stack_id]
            )
        )
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
        self._functions = Functions(self, self.options, function_network(self, self.options))
        #: The custom resources' service token: creates, waits for, stops the jobs.
        self.handler_function = self._functions.handler(
            self.role, f"{self.job_name_prefix}-sagemaker-jobs"
        )
        compliance.acknowledge_provider(self, self.options)

    @property
    def signal_function(self) -> lambda_.Function:
        """The function that signals wait conditions from jobs' state-change events
        (created with the first job in ``wait_condition`` mode). EventBridge invokes
        it asynchronously: events it could not handle land in its dead-letter queue."""
        if self._signal_function is None:
            self._signal_function = self._functions.signal()
        return self._signal_function

    def log_group(self, scope: Construct, construct_id: str) -> logs.LogGroup:
        """A log group of the library in ``scope`` (e.g. a job's scheduled runs' state
        machine): the configured key and retention."""
        return self._functions.log_group(construct_id, scope)

    def allow_runs(self, kind: JobKind, runs: str) -> None:
        """Let the provider read the scheduled runs named ``<runs>-...`` (the verdict of
        a run's quality gate): those of a generated name's prefix it reads already."""
        prefix = self.tuning_name_prefix if kind is TUNING else self.job_name_prefix
        if not Token.is_unresolved(runs) and runs.startswith(f"{prefix}-"):
            return
        if kind is TUNING:
            self._permissions.allow_tuning(f"{runs}-*")
        else:
            self._permissions.allow_training(f"{runs}-*")

    @property
    def execution_policy(self) -> iam.ManagedPolicy:
        """What every execution role of this stack's jobs needs alike, in one managed
        policy attached to each: the SageMaker training log group, the training
        metrics namespace, and the ECR authorization token."""
        if self._execution_policy is None:
            self._execution_policy = execution_policy(self)
        return self._execution_policy

    @property
    def processing_execution_policy(self) -> iam.ManagedPolicy:
        """:attr:`execution_policy` for processing jobs: their log group and metrics
        namespace (``/aws/sagemaker/ProcessingJobs``), made with the first one."""
        if self._processing_policy is None:
            self._processing_policy = execution_policy(
                self,
                construct_id="ProcessingExecutionPolicy",
                log_group_name=PROCESSING_LOG_GROUP,
                namespace=PROCESSING_METRICS_NAMESPACE,
                jobs="processing job",
            )
        return self._processing_policy

    @property
    def service_token(self) -> str:
        """The ``ServiceToken`` of the stack's job custom resources."""
        if self._service_token is None:
            self._service_token = self.handler_function.function_arn
        return self._service_token

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
        execution_role: iam.IRole | None,
        job_name: str | None,
        uses_vpc: bool = False,
        kind: JobKind = TRAINING,
        queue_arn: str | None = None,
    ) -> None:
        """Allow the provider to pass ``execution_role`` to SageMaker; for a job with
        an explicit name, to act on that name; for a VPC job, to watch its network
        interfaces being released on delete. A tuning job (``kind``) also lets the
        provider act on the tuning jobs of this stack and read their training jobs; a
        queued job, submit to its AWS Batch queue (``queue_arn``)."""
        self._jobs += 1
        if uses_vpc:
            self._permissions.watch_network()
        if queue_arn is not None:
            self._permissions.allow_queue(queue_arn)
        if kind is TUNING:
            self._permissions.allow_tuning(job_name)
        elif kind in (PROCESSING, TRANSFORM):
            self._permissions.allow_kind(kind, job_name)
        elif job_name is not None:
            self._permissions.allow_training(job_name)
        if execution_role is None:
            return  # a transform job runs as its model's role: nothing to pass
        if id(execution_role) in self._passed_roles:
            return
        self._passed_roles.add(id(execution_role))
        self._execution_roles.append(execution_role)
        self._permissions.allow_pass_role(role_arn(execution_role))
