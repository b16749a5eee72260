"""The job core: what every kind of job construct (TrainingJob,
HyperparameterTuningJob, ProcessingJob) builds alike around its rendered request — the execution
role, the custom resource served by the stack's one provider, the completion mode's
wiring (wait condition, state-change rule, result resource), state-change rules and
how validation problems are reported."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import (
    Annotations,
    CfnWaitCondition,
    CustomResource,
    RemovalPolicy,
    Token,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._shared.remembered import seconds
from .._shared.schema.validate import Problem
from .._shared.stacks import minimizes_policies, path_of, region_of, remember, stack_of
from ..definition import _cautions, _mistakes, _script_mode
from ..definition._code import CodeConfig
from ..definition._data import TrainingInput
from ..definition._image import ImageConfig
from ..definition._request import TrainingJobProps, instance_types
from ..handler import properties as cr_props
from ..handler.kinds import TUNING, JobKind
from ..provider import TrainingJobProvider
from ..security._compact import share as share_grants
from ..security._nag import acknowledge, rules
from ..security._network import job_security_groups, job_vpc_config
from ..security._principal import InlineDocument, InlinePolicyPrincipal, OwnedRole
from ._completion import Completion, CompletionMode
from ._event_size import check_event_size
from ._grants import grant_execution_role
from ._quality_gate import MetricThreshold, render_gate
from ._tagging import JobTags, taggable
from ._timing import SECONDS, Timing
from ._wait_condition import wait_for_state_change, wait_key

SHARED_CHECKPOINT_WARNING_ID = "constructs-lib:shared-checkpoint"


@dataclass(frozen=True)
class BoundDefinition:
    """A training definition's parts bound to its job: image, code, channels, network,
    and the hyperparameters as the request carries them."""

    image: ImageConfig | None
    inputs: list[TrainingInput]
    security_groups: list[ec2.ISecurityGroup]
    """The job's security groups (its ``connections``, made when first asked for)."""
    subnet_ids: list[str]
    vpc_config: dict[str, Any] | None
    code: CodeConfig | None
    hyperparameters: dict[str, str] | None
    problems: list[Problem]
    """What is wrong with the code, its distribution or the hyperparameters."""
    by_job_name: dict[str, dict[str, str]]
    """Hyperparameters the handler fills in from the job's name (see
    ``_script_mode.by_job_name``)."""
    named_locations: dict[str, dict[str, str]]
    """Request members the handler fills in from the job's name: its own checkpoint
    folder (``handler.properties.NAMED_LOCATIONS``)."""


def state_change_rule(
    scope: Construct,
    construct_id: str,
    *,
    kind: JobKind,
    job_name: str,
    target: events.IRuleTarget | None,
    statuses: Sequence[str] | None,
    description: str | None,
    rule_name: str | None,
    names: Any = None,
) -> events.Rule:
    """An EventBridge rule for the state-change events of one job of ``kind``.

    :param names: what the rule matches by name; default: exactly ``job_name`` (e.g.
        a job's own rules also match its scheduled runs' prefix).
    """
    detail: dict[str, Any] = {kind.name_field: names if names is not None else [job_name]}
    if statuses:
        detail[kind.status_field] = list(statuses)
    rule = events.Rule(
        scope,
        construct_id,
        description=description or f"State changes of {kind.noun.lower()} {scope.node.path}",
        rule_name=rule_name,
        event_pattern=events.EventPattern(
            source=["aws.sagemaker"], detail_type=[kind.detail_type], detail=detail
        ),
    )
    if target is not None:
        rule.add_target(target)
    return rule


def derived_job_arn(scope: Construct, kind: JobKind, name: str) -> str:
    """The ARN of job ``name`` of ``kind`` in ``scope``'s account and region (SageMaker
    ARNs carry the name in lower case)."""
    resource_name = name if Token.is_unresolved(name) else name.lower()
    return stack_of(scope).format_arn(
        service="sagemaker", resource=kind.arn_resource, resource_name=resource_name
    )


def removal_policy_name(scope: Construct, policy: RemovalPolicy, kind: JobKind) -> str:
    if policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return "retain"
    if policy == RemovalPolicy.DESTROY:
        return "destroy"
    raise ValueError(
        f"[{scope.node.path}] removal_policy: {policy!r} is invalid: a "
        f"{kind.noun.lower()} supports RETAIN or DESTROY (no SNAPSHOT)"
    )


@functools.cache
def _sagemaker_principal() -> iam.ServicePrincipal:
    """The principal every owned execution role trusts: one value object for all."""
    return iam.ServicePrincipal("sagemaker.amazonaws.com")


class JobCore:
    """The parts of a job construct that do not depend on its kind.

    Built in two steps: the role first (the request needs its ARN), then
    :meth:`create_resource` with the rendered request.
    """

    def __init__(
        self,
        scope: Construct,
        kind: JobKind,
        *,
        role: iam.IRole | None,
        completion: Completion | None,
        removal_policy: RemovalPolicy,
        execution_role: bool = True,
    ) -> None:
        """:param execution_role: whether SageMaker runs the job as a role of its own
        (``role``, or one made for it); a transform job runs as its model's."""
        self.scope = scope
        self.kind = kind
        self.removal = removal_policy_name(scope, removal_policy, kind)
        self.completion = completion or Completion.wait()
        self.principal: iam.IPrincipal | None = None
        self.owned_role: OwnedRole | None = None
        self._role: iam.IRole | None = None
        if not execution_role:
            pass
        elif role is None:
            # The job's grants are an inline policy of its own role: no separate
            # policy resource, so a job with its own role costs two resources.
            grants = InlineDocument(minimize=minimizes_policies(scope))
            owned = OwnedRole(
                scope,
                "ExecutionRole",
                assumed_by=_sagemaker_principal(),
                description=f"SageMaker execution role of {kind.noun.lower()} {path_of(scope)}",
                grants=grants,
            )
            remember(owned, scope, "ExecutionRole")
            self._role = owned
            self.owned_role = owned
            self.principal = InlinePolicyPrincipal(owned, grants)
            acknowledge(
                owned,
                rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
                "The execution role's grants live in its own inline policy, scoped to "
                "this job's data, keys and image; a shared managed policy would widen them.",
            )
        else:
            self._role = role
            share_grants(role)
            _cautions.warn_of_immutable_role(scope, role)
        self._provider: TrainingJobProvider | None = None
        self._security_groups: list[ec2.ISecurityGroup] = []
        self._connections: ec2.Connections | None = None
        self.resource: CustomResource | None = None
        #: Where the completed job's attributes come from.
        self.results: CustomResource | None = None
        self.wait_condition: CfnWaitCondition | None = None

    @property
    def role(self) -> iam.IRole:
        """The execution role SageMaker assumes for the job."""
        if self._role is None:
            raise ValueError(
                f"[{self.scope.node.path}] role: a {self.kind.noun.lower()} runs as its "
                "model's execution role, not one of its own"
            )
        return self._role

    @property
    def provider(self) -> TrainingJobProvider:
        """The stack's provider, found or created on first use (after the job's
        request validated: a job that fails validation leaves no provider behind)."""
        if self._provider is None:
            self._provider = TrainingJobProvider.of(self.scope)
        return self._provider

    def bind_definition(self, props: TrainingJobProps, *, instances: int) -> BoundDefinition:
        """Bind the image and channels to the job, and build its network: the security
        groups (one created for it unless given) and the ``VpcConfig``; with code,
        encode the hyperparameters for the framework container."""
        scope = self.scope
        types = instance_types(props)
        distribution = props.distribution
        image = (
            props.image._bind_to_job(
                scope,
                instance_types=types,
                smdistributed=distribution is not None and distribution.smdistributed,
            )
            if props.image is not None
            else None
        )
        code = props.code.bind(scope) if props.code is not None else None
        hyperparameters, problems = _script_mode.hyperparameters(
            user=props.hyperparameters,
            code=code,
            distribution=distribution,
            image=image,
            region=region_of(scope),
            instance_types=types,
            instance_count=instances,
            network_isolation=bool(props.network_isolation),
        )
        static, by_job_name = _script_mode.by_job_name(
            code=code,
            image=image,
            distribution=distribution,
            user=props.hyperparameters,
            output_uri=lambda: props.output.s3_uri,
        )
        if static and hyperparameters is not None:
            hyperparameters = dict(sorted({**hyperparameters, **static}.items()))
        problems.extend(_script_mode.count_problems(hyperparameters, by_job_name))
        problems.extend(_mistakes.definition_problems(scope, props))
        _mistakes.warn_of_pip_without_network(scope, props)
        framework = image.framework.framework if image is not None and image.framework else None
        _cautions.warn_of_hosts_without_distribution(scope, props, instances, framework)
        _cautions.warn_of_buckets_without_keys(scope, props)
        inputs = [channel.bind(scope) for channel in props.inputs]
        if code is not None and props.network_isolation:
            if any(c.channel_name == _script_mode.CODE_CHANNEL for c in inputs):
                problems.append(
                    Problem(
                        "InputDataConfig",
                        _script_mode.CODE_CHANNEL,
                        "a channel named 'code' brings the code to a job without network "
                        "access: name your channel otherwise",
                    )
                )
            inputs.append(_script_mode.code_channel(code))
        security_groups, subnet_ids, vpc_config = self.bind_network(
            vpc=props.vpc,
            vpc_subnets=props.vpc_subnets,
            security_groups=props.security_groups,
            instances=instances,
        )
        return BoundDefinition(
            image,
            inputs,
            security_groups,
            subnet_ids,
            vpc_config,
            code,
            hyperparameters,
            problems,
            by_job_name,
            self._named_locations(props),
        )

    def bind_network(
        self,
        *,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        instances: int,
    ) -> tuple[list[ec2.ISecurityGroup], list[str], dict[str, Any] | None]:
        """The job's network: its security groups (one created for it in a VPC unless
        given; its ``connections``), its subnets' ids and its ``VpcConfig``."""
        groups = job_security_groups(
            self.scope,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            instances=instances,
            noun=self.kind.noun,
        )
        self._security_groups = groups
        subnet_ids: list[str] = []
        vpc_config = None
        if vpc is not None:
            vpc_config, subnet_ids = job_vpc_config(
                self.scope, vpc=vpc, vpc_subnets=vpc_subnets, security_groups=groups
            )
        return groups, subnet_ids, vpc_config

    def _named_locations(self, props: TrainingJobProps) -> dict[str, dict[str, str]]:
        """The checkpoint folder of each job (a warning when the checkpoint is shared)."""
        if props.checkpoint is None:
            return {}
        location = props.checkpoint.named_location()
        if location is None:
            Annotations.of(self.scope).add_warning_v2(
                SHARED_CHECKPOINT_WARNING_ID,
                "checkpoint: shared=True: every job of this construct (each retraining, "
                "each scheduled run) syncs the same checkpoints, so a new job resumes the "
                "last one's, and a job whose hyperparameters or data changed continues a "
                "model trained with the old ones. Leave shared unset to give each job a "
                "folder of its own.",
            )
            return {}
        return {f"{self.kind.definition_path}CheckpointConfig.S3Uri": location}

    def grant_definition(
        self, grantee: iam.IGrantable, props: TrainingJobProps, bound: BoundDefinition
    ) -> None:
        """The execution role's grants: the stack's shared execution policy (what every
        job needs alike), and what this job's definition names."""
        if self.owned_role is not None:
            self.owned_role.attach_library_policy(self.provider.execution_policy)
        else:
            self.role.add_managed_policy(self.provider.execution_policy)
        grant_execution_role(
            self.scope,
            grantee,
            props,
            image=bound.image,
            code=bound.code,
            inputs=bound.inputs,
            subnet_ids=bound.subnet_ids,
            security_groups=bound.security_groups,
            owned_role=self.owned_role,
        )

    @property
    def connections(self) -> ec2.Connections:
        """The job's security groups (``IConnectable``), made when first asked for."""
        if self._connections is None:
            self._connections = ec2.Connections(security_groups=self._security_groups)
        return self._connections

    def grant_and_register(
        self,
        grantee: iam.IGrantable,
        props: TrainingJobProps,
        bound: BoundDefinition,
        *,
        request: dict[str, Any],
        additional_request: Mapping[str, Any] | None,
        construct_id: str,
        job_name: str | None,
        uses_vpc: bool,
        queue_arn: str | None = None,
    ) -> tuple[JobTags, str]:
        """Tags, the execution role's grants, and the provider's rights on the job (the
        provider found or made now: a job that fails its checks leaves none). Returns
        the job's tags and the prefix of its generated names (a fixed name stands for
        it)."""
        return self.register(
            request=request,
            additional_request=additional_request,
            construct_id=construct_id,
            job_name=job_name,
            uses_vpc=uses_vpc,
            queue_arn=queue_arn,
            grant=lambda: self.grant_definition(grantee, props, bound),
        )

    def register(
        self,
        *,
        request: dict[str, Any],
        additional_request: Mapping[str, Any] | None,
        construct_id: str,
        job_name: str | None,
        uses_vpc: bool,
        grant: Callable[[], None],
        queue_arn: str | None = None,
    ) -> tuple[JobTags, str]:
        """:meth:`grant_and_register` of any kind: ``grant`` gives the execution role
        what the job's request names."""
        provider = self.provider
        tags = taggable(self.scope, self.kind.resource_type, request, additional_request, provider)
        grant()
        prefix = (
            provider.tuning_name_prefix_for(construct_id)
            if self.kind is TUNING
            else provider.job_name_prefix_for(construct_id)
        )
        provider.register_job(
            execution_role=self._role,
            job_name=job_name,
            uses_vpc=uses_vpc,
            kind=self.kind,
            queue_arn=queue_arn,
        )
        return tags, prefix

    @property
    def grant_principal(self) -> iam.IPrincipal:
        if self.principal is None:
            self.principal = self.role.grant_principal
        return self.principal

    def create_resource(
        self,
        request: Mapping[str, Any],
        *,
        queue: Mapping[str, Any] | None = None,
        name_prefix: str,
        timing: Timing,
        wait_material: Callable[[], Any],
        rule: Callable[[str, list[str]], events.Rule],
        by_job_name: Mapping[str, Mapping[str, str]] | None = None,
        named_locations: Mapping[str, Mapping[str, str]] | None = None,
        gate: Sequence[MetricThreshold] | None = None,
        gate_definition: Mapping[str, Any] | None = None,
        emits_metrics: bool = False,
        tags: JobTags | None = None,
        results_control: Mapping[str, Any] | None = None,
    ) -> CustomResource:
        """The job's custom resource, and for ``Completion.wait_condition()`` its wait.

        :param wait_material: what identifies the job for its wait (see :meth:`wait_key`).
        :param rule: makes the job's state-change rule (id, statuses).
        :param by_job_name: hyperparameters the handler fills in from the job's name.
        :param named_locations: request members it fills in from the name likewise.
        :param gate: the quality gate (``quality_gate``), checked against
            ``gate_definition`` (the training request whose metrics it bounds) and
            rendered: checked where the attributes are read (the job's resource when the
            deploy polls it, else its result resource).
        :param emits_metrics: whether the image reports the metrics SageMaker lists.
        :param tags: the job's tags, rendered into the resource once asked for.
        :param results_control: control properties of where the attributes are read,
            beside the gate (a processing job's report).
        """
        kind = self.kind
        quality_gate = render_gate(
            self.scope,
            gate,
            definition=gate_definition or {},
            emits_metrics=emits_metrics,
            completion=self.completion,
        )
        service_timeout = timing.service_timeout()
        control: dict[str, Any] = {
            cr_props.NAME_PREFIX: name_prefix,
            cr_props.REMOVAL_POLICY: self.removal,
        }
        results: dict[str, Any] = dict(results_control or {})
        if quality_gate:
            results[cr_props.QUALITY_GATE] = quality_gate
        if self.completion.mode == CompletionMode.WAIT:
            control.update(results)
            control[cr_props.WAIT_TIMEOUT] = seconds(service_timeout) - SECONDS["DEADLINE_HEADROOM"]
            control[cr_props.POLL_INTERVAL] = timing.poll_interval_seconds()
        else:
            control[cr_props.COMPLETION] = "created"
        if by_job_name:
            control[cr_props.BY_JOB_NAME] = {k: dict(v) for k, v in by_job_name.items()}
        if named_locations:
            control[cr_props.NAMED_LOCATIONS] = {k: dict(v) for k, v in named_locations.items()}
        if queue is not None:
            control[cr_props.QUEUE] = dict(queue)
        else:
            quota_wait = timing.quota_wait_seconds()
            if quota_wait > 0:
                control[cr_props.QUOTA_WAIT] = quota_wait
        properties = {kind.request_property: request, **control}
        check_event_size(self.scope, properties, request_property=kind.request_property)
        resource = CustomResource(
            self.scope,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=kind.resource_type,
            service_timeout=service_timeout,
            properties=properties,
        )
        # The execution role and its grants must exist before the job starts.
        if self._role is not None:
            resource.node.add_dependency(self._role)
        if tags is not None:
            tags.render_into(resource, kind.request_property)
        self.resource = resource
        self.results = resource
        if self.completion.mode == CompletionMode.WAIT_CONDITION:
            self.wait_condition, self.results = wait_for_state_change(
                self.scope,
                self.kind,
                resource,
                self.provider,
                timing=timing,
                material=wait_material(),
                rule=rule,
                signal_kind="queued" if queue is not None else None,
                result_properties=results or None,
            )
        return resource

    def wait_key(self, material: Any, timing: Timing) -> str:
        """Identifies the job's wait (see ``_wait_condition.wait_key``)."""
        return wait_key(self.scope, material, timing)

    @property
    def job_name(self) -> str:
        """The job's name: the resource's physical id."""
        assert self.resource is not None
        return self.resource.ref

    def attribute(self, name: str) -> str:
        assert self.results is not None
        return self.results.get_att_string(name)
