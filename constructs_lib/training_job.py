"""The TrainingJob construct: a SageMaker training job as a resource of the stack."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import (
    Annotations,
    CfnWaitCondition,
    CfnWaitConditionHandle,
    CustomResource,
    Duration,
    RemovalPolicy,
    Size,
    Stack,
    Token,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import _nag
from ._compact import share as share_grants
from ._nag import acknowledge, add_statement, rules, skip_checkov
from ._network import selected_subnet_ids
from ._principal import POLICY_NAME, InlinePolicyPrincipal
from ._schema.validate import Problem, Validator, cross_field_problems, is_unresolved
from .completion import Completion, CompletionMode
from .config import (
    Checkpoint,
    DebugHookConfig,
    ExperimentConfig,
    InstanceGroup,
    InstancePlacement,
    MetricDefinition,
    MlflowConfig,
    ModelPackageConfig,
    ProfilerConfig,
    RuleConfiguration,
    S3Location,
    ServerlessJobConfig,
    TensorBoardOutput,
)
from .data import InputMode, TrainingInput, TrainingOutput
from .handler import properties as cr_props
from .image import TrainingImage, grant_repository_pull
from .instance_type import InstanceType
from .provider import MAX_SERVICE_TIMEOUT, METRICS_NAMESPACE, TrainingJobProvider
from .request import TrainingJobProps, props_for_path, render_request, secret_reason

# 50 tags per job; the handler adds its own (LIBRARY_TAGS) to recognise its jobs.
MAX_TAGS = 50 - len(cr_props.LIBRARY_TAGS)
#: Time a job needs beyond its max runtime: instances to start, data and image to
#: download, the model to upload. The deployment's wait allows for it.
START_AND_UPLOAD_MARGIN = Duration.minutes(15)
#: The longest run (max runtime, or max wait with spot) that waiting mode can hold
#: within CloudFormation's hour.
MAX_WAITED_RUNTIME = Duration.minutes(
    MAX_SERVICE_TIMEOUT.to_minutes() - START_AND_UPLOAD_MARGIN.to_minutes()
)
#: CloudFormation's limit for a wait condition.
MAX_WAIT_CONDITION_TIMEOUT = Duration.hours(12)
#: SageMaker's limit for a training job's run.
MAX_JOB_RUNTIME = Duration.days(28)
STATE_CHANGE = "SageMaker Training Job State Change"
ENDED_STATUSES = ("Completed", "Failed", "Stopped")
#: A shorter ServiceTimeout would leave a delete no time to stop the job and wait
#: for its network interfaces.
MIN_SERVICE_TIMEOUT = Duration.minutes(30)
#: The handler gives up this long before CloudFormation would, to say why.
DEADLINE_HEADROOM = Duration.minutes(5)
# The seconds of the limits above, read once (each Duration read is a jsii call).
_SECONDS = {
    name: int(value.to_seconds())
    for name, value in {
        "MAX_SERVICE_TIMEOUT": MAX_SERVICE_TIMEOUT,
        "START_AND_UPLOAD_MARGIN": START_AND_UPLOAD_MARGIN,
        "MAX_WAITED_RUNTIME": MAX_WAITED_RUNTIME,
        "MIN_SERVICE_TIMEOUT": MIN_SERVICE_TIMEOUT,
        "DEADLINE_HEADROOM": DEADLINE_HEADROOM,
        "MAX_WAIT_CONDITION_TIMEOUT": MAX_WAIT_CONDITION_TIMEOUT,
        "MAX_JOB_RUNTIME": MAX_JOB_RUNTIME,
    }.items()
}
#: Hex digits of the key that identifies a job's wait condition (see ``_wait_key``).
WAIT_KEY_CHARS = 8
SECRET_WARNING_ID = "constructs-lib:possible-secret"
NO_S3_ROUTE_WARNING_ID = "constructs-lib:no-s3-route"

_VALIDATOR = Validator()


class ITrainingJob(Construct):
    """A training job: one of this stack (:class:`TrainingJob`) or an existing one
    (:meth:`TrainingJob.from_training_job_name`)."""

    @property
    def training_job_name(self) -> str:
        """The job's name."""
        raise NotImplementedError

    @property
    def training_job_arn(self) -> str:
        """The job's ARN."""
        raise NotImplementedError

    @property
    def model_data_url(self) -> str:
        """The S3 URI of the job's ``model.tar.gz``."""
        raise NotImplementedError

    # -- events -------------------------------------------------------------

    def on_state_change(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        statuses: list[str] | None = None,
        description: str | None = None,
        rule_name: str | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this job's "SageMaker Training Job State Change"
        events (SageMaker may send one more than once).

        :param statuses: only these ``TrainingJobStatus`` values; default: all.
        """
        detail: dict[str, Any] = {"TrainingJobName": [self.training_job_name]}
        if statuses:
            detail["TrainingJobStatus"] = list(statuses)
        rule = events.Rule(
            self,
            construct_id,
            description=description or f"State changes of training job {self.node.path}",
            rule_name=rule_name,
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"], detail_type=[STATE_CHANGE], detail=detail
            ),
        )
        if target is not None:
            rule.add_target(target)
        return rule

    def on_completed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the job completing."""
        return self.on_state_change(construct_id, target=target, statuses=["Completed"])

    def on_failed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the job ending without completing (``Failed`` or ``Stopped``)."""
        return self.on_state_change(construct_id, target=target, statuses=["Failed", "Stopped"])

    # -- CloudWatch metrics -------------------------------------------------

    def metric_instance(
        self,
        metric_name: str,
        *,
        host: str = "algo-1",
        period: Duration | None = None,
        statistic: str = "Average",
    ) -> cloudwatch.Metric:
        """An instance metric SageMaker publishes for the job (namespace
        ``/aws/sagemaker/TrainingJobs``, dimension ``Host`` = ``<job>/<host>``)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"Host": f"{self.training_job_name}/{host}"},
            period=period or Duration.minutes(1),
            statistic=statistic,
        )

    def metric_cpu_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The CPU utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("CPUUtilization", host=host)

    def metric_memory_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The memory utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("MemoryUtilization", host=host)

    def metric_gpu_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The GPU utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("GPUUtilization", host=host)

    def metric_gpu_memory_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The GPU memory utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("GPUMemoryUtilization", host=host)

    def metric_disk_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The disk utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("DiskUtilization", host=host)


class _ImportedTrainingJob(ITrainingJob):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        arn: str | None,
        model_data_url: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._name = name
        # SageMaker ARNs carry the job name in lower case.
        resource_name = name if Token.is_unresolved(name) else name.lower()
        self._arn = arn or Stack.of(self).format_arn(
            service="sagemaker", resource="training-job", resource_name=resource_name
        )
        self._model_data_url = model_data_url

    @property
    def training_job_name(self) -> str:
        return self._name

    @property
    def training_job_arn(self) -> str:
        return self._arn

    @property
    def model_data_url(self) -> str:
        if self._model_data_url is None:
            raise ValueError(
                f"[{self.node.path}] model_data_url: None is invalid: an imported job knows "
                "its model artifacts only when given: use "
                "TrainingJob.from_training_job_attributes(..., model_data_url=...)"
            )
        return self._model_data_url


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class TrainingJob(ITrainingJob):
    """A SageMaker training job, created when the stack deploys.

    The deployment waits until the job completes, fails at once when the job
    fails, and exposes the model artifacts as :attr:`model_data_url`. Every member
    of the CreateTrainingJob request can be set: the common ones through the typed
    props below, anything else through ``additional_request``; the whole request is
    validated at synth against the API's model.

    Example::

        job = TrainingJob(self, "Train",
            image=TrainingImage.from_registry(image_uri),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/", content_type="text/csv")],
            output=TrainingOutput.to_bucket(bucket, "models/"),
            instance_type=InstanceType.of("ml.m5.xlarge"),
            hyperparameters={"num_round": "100"},
        )
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        output: TrainingOutput,
        image: TrainingImage | None = None,
        inputs: Sequence[TrainingInput] = (),
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        input_mode: InputMode = InputMode.FILE,
        metric_definitions: Sequence[MetricDefinition] = (),
        enable_metrics_time_series: bool | None = None,
        container_entrypoint: Sequence[str] | None = None,
        container_arguments: Sequence[str] | None = None,
        instance_type: InstanceType | None = None,
        instance_count: int | None = None,
        instance_groups: Sequence[InstanceGroup] = (),
        instance_placement: InstancePlacement | None = None,
        volume_size: Size | None = None,
        volume_encryption_key: kms.IKey | None = None,
        keep_alive: Duration | None = None,
        max_runtime: Duration | None = None,
        max_wait: Duration | None = None,
        max_pending: Duration | None = None,
        spot_training: bool | None = None,
        checkpoint: Checkpoint | None = None,
        hyperparameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        training_job_name: str | None = None,
        network_isolation: bool | None = None,
        inter_container_traffic_encryption: bool | None = None,
        max_retry_attempts: int | None = None,
        debug_hook: DebugHookConfig | None = None,
        debug_rules: Sequence[RuleConfiguration] = (),
        profiler: ProfilerConfig | None = None,
        profiler_rules: Sequence[RuleConfiguration] = (),
        tensor_board_output: TensorBoardOutput | None = None,
        experiment: ExperimentConfig | None = None,
        infra_check: bool | None = None,
        remote_debug: bool | None = None,
        session_tag_chaining: bool | None = None,
        mlflow: MlflowConfig | None = None,
        serverless: ServerlessJobConfig | None = None,
        model_package: ModelPackageConfig | None = None,
        additional_request: Mapping[str, Any] | None = None,
        role: iam.IRole | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        completion: Completion | None = None,
    ) -> None:
        """
        :param output: where the model artifacts are written (``OutputDataConfig``);
            required.
        :param image: the training container (``AlgorithmSpecification``); required
            unless ``serverless``.
        :param inputs: input channels, 1 to 20 with unique names; default: none.
        :param vpc: run the job in this VPC (``VpcConfig``); default: no VPC.
        :param vpc_subnets: default: the VPC's private subnets (with egress, else
            isolated). A selection without subnets is a synth error.
        :param security_groups: default: a security group created for the job, which
            allows all outbound traffic and, for several instances, traffic between
            them.
        :param input_mode: the job's default input mode; default: ``InputMode.FILE``.
        :param metric_definitions: metrics captured from the logs; default: none.
        :param enable_metrics_time_series: default: SageMaker's (off).
        :param container_entrypoint: overrides the image's entrypoint; default: none.
        :param container_arguments: arguments to the entrypoint; default: none.
        :param instance_type: default: ``ml.m5.xlarge`` (none with ``instance_groups``).
        :param instance_count: default: 1 (none with ``instance_groups``).
        :param instance_groups: a heterogeneous cluster, instead of type and count;
            default: none.
        :param instance_placement: UltraServer placement; default: none.
        :param volume_size: storage volume per instance; default: 10 GiB (none for
            a serverless job).
        :param volume_encryption_key: KMS key of the storage volume; default: AWS
            managed encryption.
        :param keep_alive: keep the instances in a warm pool this long after the job;
            default: no warm pool.
        :param max_runtime: after this long SageMaker stops the job. What waits for
            it bounds it: with ``Completion.wait()`` (the default) the deployment, which
            CloudFormation allows one hour, start-up and upload included: at most 45
            minutes; with ``Completion.wait_condition()`` 11 h 45 min; with
            ``Completion.none()`` 28 days. Default: 45 minutes.
        :param max_wait: with ``spot_training``, how long to wait for spot capacity
            plus run (required with spot, at least ``max_runtime``, at most 45
            minutes in waiting mode); default: none.
        :param max_pending: stop the job if pending longer (30 min to 28 days);
            default: none.
        :param spot_training: managed spot training; default: off.
        :param checkpoint: where checkpoints are synced; default: none.
        :param hyperparameters: string values passed to the algorithm (at most 100);
            default: none. Values that look like secrets get a synth warning.
        :param environment: environment variables of the container; default: none.
        :param tags: tags of the training job (at most 47, no ``aws:`` prefix);
            default: none.
        :param training_job_name: a fixed job name; default: a unique name generated
            at each creation. A fixed name prevents replacement: a change that needs
            a new job then fails.
        :param network_isolation: no network access for the container; default: off.
        :param inter_container_traffic_encryption: default: off.
        :param max_retry_attempts: retries after an internal error; default: none.
        :param debug_hook: SageMaker Debugger hook; default: none.
        :param debug_rules: Debugger rules (at most 20); default: none.
        :param profiler: profiler settings; default: SageMaker's.
        :param profiler_rules: profiler rules (at most 20); default: none.
        :param tensor_board_output: default: none.
        :param experiment: SageMaker Experiments association; default: none.
        :param infra_check: run infrastructure health checks first; default: off.
        :param remote_debug: allow remote debugging of the container; default: off.
        :param session_tag_chaining: chain session tags to the role; default: off.
        :param mlflow: managed MLflow tracking; default: none.
        :param serverless: a serverless job; default: none.
        :param model_package: register the model in a package group; default: none.
        :param additional_request: merged into the rendered request last: objects
            merge member by member, lists and scalars replace, ``None`` removes. Use
            it for API members without typed props, or newer than this library.
            Validated like the rest. Default: none.
        :param role: the execution role SageMaker assumes; default: a role created
            for this job, with exactly the grants it needs. A given role gets the same
            grants added.
        :param removal_policy: what a stack delete (or a replacement) does to the job
            record: ``RETAIN`` keeps it, ``DESTROY`` deletes it once it stopped. A
            running job is always stopped; model artifacts in S3 are never deleted.
            Default: ``RETAIN``.
        :param completion: what the deployment waits for: ``Completion.wait()``
            (polling, jobs up to 45 minutes), ``Completion.wait_condition()`` (the
            job's state-change event, up to 12 hours) or ``Completion.none()``.
            Default: ``Completion.wait()``.
        """
        super().__init__(scope, construct_id)
        self._principal: iam.IPrincipal | None = None
        with _nag.batch():
            self.props = TrainingJobProps(
                image=image,
                output=output,
                inputs=tuple(inputs),
                vpc=vpc,
                vpc_subnets=vpc_subnets,
                security_groups=tuple(security_groups) if security_groups is not None else None,
                input_mode=input_mode,
                metric_definitions=tuple(metric_definitions),
                enable_metrics_time_series=enable_metrics_time_series,
                container_entrypoint=container_entrypoint,
                container_arguments=container_arguments,
                instance_type=instance_type,
                instance_count=instance_count,
                instance_groups=tuple(instance_groups),
                instance_placement=instance_placement,
                volume_size=volume_size,
                volume_encryption_key=volume_encryption_key,
                keep_alive=keep_alive,
                max_runtime=max_runtime,
                max_wait=max_wait,
                max_pending=max_pending,
                spot_training=spot_training,
                checkpoint=checkpoint,
                hyperparameters=hyperparameters,
                environment=environment,
                tags=tags,
                training_job_name=training_job_name,
                network_isolation=network_isolation,
                inter_container_traffic_encryption=inter_container_traffic_encryption,
                max_retry_attempts=max_retry_attempts,
                debug_hook=debug_hook,
                debug_rules=tuple(debug_rules),
                profiler=profiler,
                profiler_rules=tuple(profiler_rules),
                tensor_board_output=tensor_board_output,
                experiment=experiment,
                infra_check=infra_check,
                remote_debug=remote_debug,
                session_tag_chaining=session_tag_chaining,
                mlflow=mlflow,
                serverless=serverless,
                model_package=model_package,
                additional_request=additional_request,
            )
            removal = _removal_policy_name(self, removal_policy)
            self.completion = completion or Completion.wait()

            self._owns_role = role is None
            if role is None:
                # The job's grants are an inline policy of its own role: no separate
                # policy resource, so a job with its own role costs two resources.
                grants = iam.PolicyDocument()
                owned = iam.Role(
                    self,
                    "ExecutionRole",
                    assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                    description=f"SageMaker execution role of training job {self.node.path}",
                    inline_policies={POLICY_NAME: grants},
                )
                self.role: iam.IRole = owned
                self._principal = InlinePolicyPrincipal(owned, grants)
                acknowledge(
                    owned,
                    rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
                    "The execution role's grants live in its own inline policy, scoped to "
                    "this job's data, keys and image; a shared managed policy would widen them.",
                )
            else:
                self.role = role
                share_grants(role)
            self._subnet_ids: list[str] = []
            self._image = image.bind(self) if image is not None else None
            self._inputs = [channel.bind(self) for channel in inputs]
            self._connections = ec2.Connections(security_groups=self._security_groups())
            #: The rendered CreateTrainingJob request (values may be CDK tokens).
            self.request: dict[str, Any] = render_request(
                self.props,
                role_arn=self.role.role_arn,
                default_runtime=MAX_WAITED_RUNTIME,
                image=self._image,
                inputs=self._inputs,
                vpc_config=self._vpc_config(),
            )
            self._validate()
            self._warn_about_secrets()
            self.provider = TrainingJobProvider.of(self)
            self._grant_execution_role()

            self.provider.register_job(
                execution_role=self.role,
                job_name=self.request.get("TrainingJobName"),
                uses_vpc="VpcConfig" in self.request,
            )
            service_timeout = self._service_timeout()
            control: dict[str, Any] = {
                cr_props.NAME_PREFIX: self.provider.job_name_prefix_for(construct_id),
                cr_props.REMOVAL_POLICY: removal,
            }
            if self.completion.mode == CompletionMode.WAIT:
                control[cr_props.WAIT_TIMEOUT] = (
                    service_timeout.to_seconds() - _SECONDS["DEADLINE_HEADROOM"]
                )
                control[cr_props.POLL_INTERVAL] = self._poll_interval_seconds()
            else:
                control[cr_props.COMPLETION] = "created"
            self.resource = CustomResource(
                self,
                "Resource",
                service_token=self.provider.service_token,
                resource_type=cr_props.RESOURCE_TYPE,
                service_timeout=service_timeout,
                properties={cr_props.REQUEST: self.request, **control},
            )
            # The execution role and its grants must exist before the job starts.
            self.resource.node.add_dependency(self.role)
            #: Where the completed job's attributes come from.
            self._results: CustomResource = self.resource
            #: The wait condition of ``Completion.wait_condition()`` (else None).
            self.wait_condition: CfnWaitCondition | None = None
            if self.completion.mode == CompletionMode.WAIT_CONDITION:
                self._wait_for_state_change()

    # -- imports ------------------------------------------------------------

    @staticmethod
    def from_training_job_name(scope: Construct, construct_id: str, name: str) -> ITrainingJob:
        """An existing training job, by name (its ARN is derived)."""
        return _ImportedTrainingJob(scope, construct_id, name=name, arn=None, model_data_url=None)

    @staticmethod
    def from_training_job_attributes(
        scope: Construct,
        construct_id: str,
        *,
        training_job_name: str,
        training_job_arn: str | None = None,
        model_data_url: str | None = None,
    ) -> ITrainingJob:
        """An existing training job with the attributes you know.

        :param training_job_arn: default: derived from the name, the stack's account and
            region.
        :param model_data_url: the S3 URI of its ``model.tar.gz``; default: unknown.
        """
        return _ImportedTrainingJob(
            scope,
            construct_id,
            name=training_job_name,
            arn=training_job_arn,
            model_data_url=model_data_url,
        )

    # -- attributes ---------------------------------------------------------

    @property
    def connections(self) -> ec2.Connections:
        """The job's security groups (``IConnectable``); none without a VPC."""
        return self._connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: grant it what your training code needs (into the
        role's inline policy when the job created the role)."""
        if self._principal is None:
            self._principal = self.role.grant_principal
        return self._principal

    @property
    def training_job_name(self) -> str:
        """The job's name (the resource's physical id)."""
        return self.resource.ref

    @property
    def training_job_arn(self) -> str:
        """The job's ARN (once it completed, unless the completion mode is none)."""
        return self._results.get_att_string("TrainingJobArn")

    @property
    def model_data_url(self) -> str:
        """S3 URI of the model artifacts (``model.tar.gz``). A resource that reads it is
        created only after the job completed, unless the completion mode is none:
        then it is where the model will be."""
        if self.completion.mode == CompletionMode.NONE:
            output = self.props.output
            return f"{output.s3_uri}{self.training_job_name}/output/model.tar.gz"
        return self._results.get_att_string("ModelArtifacts")

    @property
    def training_image_uri(self) -> str:
        """The URI of the image the job runs (resolved for the stack's region for a
        built-in algorithm), e.g. for the ``CfnModel`` that serves the result."""
        if self._image is None or self._image.image_uri is None:
            raise ValueError(
                f"[{self.node.path}] training_image_uri: the job runs no image of its own "
                "(an algorithm resource or a serverless job)"
            )
        return self._image.image_uri

    def metric(self, name: str) -> str:
        """The final value of metric ``name`` (e.g. ``"validation:rmse"``) as a token,
        once the job completed. Metrics beyond the custom resource's 4 KB response are
        not available; the deploy then fails naming the missing attribute."""
        if self.completion.mode == CompletionMode.NONE:
            raise ValueError(
                f"[{self.node.path}] metric: {name!r} is invalid: with Completion.none() "
                "the deployment does not wait for the job's final metrics"
            )
        return self._results.get_att_string(f"Metric.{name}")

    def grant_read_model_artifacts(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (e.g. a model's execution role) read this job's artifacts:
        the objects under ``<output prefix><job name>/``, and decrypt them."""
        output = self.props.output
        S3Location(output.bucket, f"{output.key_prefix}{self.training_job_name}/").grant_get(
            grantee
        )
        if output.encryption_key is not None:
            output.encryption_key.grant_decrypt(grantee)

    # -- network ------------------------------------------------------------

    def _security_groups(self) -> list[ec2.ISecurityGroup]:
        props = self.props
        if props.vpc is None:
            if props.vpc_subnets is not None or props.security_groups is not None:
                raise ValueError(
                    f"[{self.node.path}] vpc: None is invalid: vpc_subnets and "
                    "security_groups need a vpc"
                )
            return []
        if props.security_groups is not None:
            return list(props.security_groups)
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"Training job {self.node.path}",
            allow_all_outbound=True,
        )
        instances = (
            sum(g.instance_count for g in props.instance_groups)
            if props.instance_groups
            else (props.instance_count or 1)
        )
        if instances > 1:
            # Distributed training: SageMaker needs the instances to reach each other.
            # Ingress from the group itself; all outbound is allowed already (an egress
            # rule would be ignored, with a warning).
            group.add_ingress_rule(
                group, ec2.Port.all_traffic(), "Between the instances of the training job"
            )
            acknowledge(
                group,
                rules("EC2RestrictedCommonPorts", packs=("NIST.800.53.R5", "HIPAA.Security")),
                "The only ingress is from this security group itself: the job's own "
                "instances, which distributed training connects on dynamic ports.",
            )
        return [group]

    def _vpc_config(self) -> dict[str, Any] | None:
        vpc = self.props.vpc
        if vpc is None:
            return None
        subnet_ids = selected_subnet_ids(vpc, self.props.vpc_subnets)
        if not subnet_ids:
            raise ValueError(
                f"[{self.node.path}] vpc_subnets: {self.props.vpc_subnets!r} is invalid: it "
                f"selects no subnet of {vpc.node.path}"
            )
        self._subnet_ids = subnet_ids
        self._warn_without_s3_route(vpc, self._subnet_ids)
        return {
            "SecurityGroupIds": [g.security_group_id for g in self.connections.security_groups],
            "Subnets": self._subnet_ids,
        }

    def _warn_without_s3_route(self, vpc: ec2.IVpc, subnet_ids: list[str]) -> None:
        with_egress = {subnet.subnet_id for subnet in vpc.private_subnets}
        if all(subnet_id in with_egress for subnet_id in subnet_ids):
            return
        if _has_s3_gateway_endpoint(self, vpc):
            return
        Annotations.of(self).add_warning_v2(
            NO_S3_ROUTE_WARNING_ID,
            "The selected subnets have no NAT route, and no S3 gateway endpoint of "
            f"{vpc.node.path} is in this app: the job could not download its data and "
            "would hang. Add one (vpc.add_gateway_endpoint('S3', service="
            "ec2.GatewayVpcEndpointAwsService.S3)), select subnets with egress, or "
            "acknowledge this warning if the VPC has an endpoint outside this app.",
        )

    def _grant_network_interfaces(self, vpc: ec2.IVpc) -> None:
        """What SageMaker needs to attach the job's network interfaces in the VPC."""
        stack = Stack.of(self)

        def arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        # The Describe* actions support no resource scoping: IAM requires "*".
        add_statement(
            self.grant_principal,
            actions=[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            resources=["*"],
            reason="The ec2:Describe* calls SageMaker makes for a VPC job support no resource "
            "scoping: IAM requires '*'. They only read.",
        )
        add_statement(
            self.grant_principal,
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                arn("network-interface", "*"),
                *(arn("subnet", subnet) for subnet in self._subnet_ids),
                *(
                    arn("security-group", group.security_group_id)
                    for group in self.connections.security_groups
                ),
            ],
            reason="A new network interface has no id yet: network-interface/* is allowed "
            "only together with the job's own subnets and security groups.",
        )
        add_statement(
            self.grant_principal,
            actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
            resources=[arn("network-interface", "*")],
            conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
            reason="SageMaker's network interfaces get ids at run time; the ec2:Vpc condition "
            "limits these actions to interfaces in the job's VPC.",
        )
        # DeleteNetworkInterfacePermission names a permission id, not a resource the
        # policy can scope: IAM requires "*".
        reason = (
            "ec2:DeleteNetworkInterfacePermission names a permission id, not a resource a "
            "policy can scope: IAM requires '*'."
        )
        add_statement(
            self.grant_principal,
            actions=["ec2:DeleteNetworkInterfacePermission"],
            resources=["*"],
            reason=reason,
        )
        if self._owns_role:
            skip_checkov(self.role.node.default_child, ["CKV_AWS_109"], reason)  # type: ignore[arg-type]

    # -- timing -------------------------------------------------------------

    def _longest_run_seconds(self) -> float | None:
        """How long the job may take once created: its max wait with spot (capacity
        wait plus run), else its max runtime. None when a token hides it."""
        stopping = self.request.get("StoppingCondition") or {}
        spot = self.request.get("EnableManagedSpotTraining") is True
        value = stopping.get("MaxWaitTimeInSeconds" if spot else "MaxRuntimeInSeconds")
        if value is None or is_unresolved(value):
            return None
        return float(value)

    def _service_timeout(self) -> Duration:
        """How long CloudFormation waits for this job: its longest run plus the
        start-up and upload margin, within CloudFormation's one hour; only the
        creation (and a delete) when something else waits for the end."""
        if self.completion.mode != CompletionMode.WAIT:
            return MIN_SERVICE_TIMEOUT
        longest = self._longest_run_seconds()
        if longest is None:
            return MAX_SERVICE_TIMEOUT
        needed = int(longest) + _SECONDS["START_AND_UPLOAD_MARGIN"]
        return Duration.seconds(
            min(max(needed, _SECONDS["MIN_SERVICE_TIMEOUT"]), _SECONDS["MAX_SERVICE_TIMEOUT"])
        )

    def _poll_interval_seconds(self) -> int:
        """A 60th of the longest run, in multiples of the provider's query interval,
        between 30 seconds and 5 minutes (unless set)."""
        step = cr_props.QUERY_INTERVAL_SECONDS
        chosen = self.completion.poll_interval
        if chosen is not None:
            return max(step, -(-int(chosen.to_seconds()) // step) * step)
        longest = self._longest_run_seconds() or _SECONDS["MAX_WAITED_RUNTIME"]
        return int(min(max(step, int(longest / 60) // step * step), 300))

    def _wait_condition_timeout(self) -> int:
        if self.completion.timeout is not None:
            return int(self.completion.timeout.to_seconds())
        longest = self._longest_run_seconds() or _SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]
        needed = int(longest + _SECONDS["START_AND_UPLOAD_MARGIN"])
        return min(needed, int(_SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]))

    def _wait_key(self) -> str:
        """Identifies the wait: what replaces the job (its request without the members
        that change in place, as the template resolves it) and the wait's timeout. A
        change of either needs a new wait condition, since CloudFormation never
        evaluates one again on update."""
        resolved = Stack.of(self).resolve(cr_props.without_in_place(self.request))
        material = {"request": resolved, "timeout": self._wait_condition_timeout()}
        text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:WAIT_KEY_CHARS]

    def _wait_for_state_change(self) -> None:
        """The wait condition, the rule that signals it, the signal for a job that
        ended before the rule existed, and the result read after the wait.

        The handle, condition, signal check and result belong to one wait, whose
        construct id carries :meth:`_wait_key`: a change that replaces the job gets
        new ones (and CloudFormation deletes the old ones once the update
        succeeded); a change in place keeps them. The rule follows the job."""
        job_name = self.resource.ref
        wait = Construct(self, f"Wait{self._wait_key()}")
        handle = CfnWaitConditionHandle(wait, "Handle")
        condition = CfnWaitCondition(
            wait,
            "Condition",
            handle=handle.ref,
            timeout=str(self._wait_condition_timeout()),
            count=1,
        )
        condition.node.add_dependency(self.resource)
        self.wait_condition = condition
        rule = self.on_state_change("Ended", statuses=list(ENDED_STATUSES))
        rule.add_target(
            targets.LambdaFunction(
                self.provider.signal_function,
                event=events.RuleTargetInput.from_object(
                    {
                        "handleUrl": handle.ref,
                        "jobName": job_name,
                        "detail": events.EventField.from_path("$.detail"),
                    }
                ),
            )
        )
        check = CustomResource(
            wait,
            "SignalIfEnded",
            service_token=self.provider.service_token,
            resource_type=cr_props.SIGNAL_RESOURCE_TYPE,
            properties={cr_props.JOB_NAME: job_name, cr_props.HANDLE_URL: handle.ref},
        )
        check.node.add_dependency(rule)
        # Created after the wait, the result reads an ended job. Should the job be
        # replaced without a new wait (a value it refers to changed at deploy time),
        # the result waits for the new job as long as a custom resource can.
        self._results = CustomResource(
            wait,
            "Result",
            service_token=self.provider.service_token,
            resource_type=cr_props.RESULT_RESOURCE_TYPE,
            service_timeout=MAX_SERVICE_TIMEOUT,
            properties={
                cr_props.JOB_NAME: job_name,
                cr_props.WAIT_TIMEOUT: _SECONDS["MAX_SERVICE_TIMEOUT"]
                - _SECONDS["DEADLINE_HEADROOM"],
            },
        )
        self._results.node.add_dependency(condition)

    # -- grants -------------------------------------------------------------

    def _grant_execution_role(self) -> None:
        props = self.props
        # What every job of the stack needs alike: one managed policy, shared.
        self.role.add_managed_policy(self.provider.execution_policy)
        if self._image is not None and self._image.repository_arn is not None:
            grant_repository_pull(self.grant_principal, self._image.repository_arn)
        elif self._image is not None:
            self._image.grant_pull(self)
        for channel in self._inputs:
            channel.grant_read(self)
        if props.vpc is not None:
            self._grant_network_interfaces(props.vpc)
        props.output.grant_write(self)
        if props.checkpoint is not None:
            props.checkpoint.grant(self)
        outputs = [
            props.debug_hook.output if props.debug_hook else None,
            props.profiler.output if props.profiler else None,
            props.tensor_board_output.output if props.tensor_board_output else None,
            *(rule.output for rule in (*props.debug_rules, *props.profiler_rules)),
        ]
        for location in outputs:
            if location is not None:
                location.grant_write(self)
        if props.volume_encryption_key is not None:
            # SageMaker attaches the encrypted volume through a grant on the key.
            self.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[props.volume_encryption_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )

    # -- validation ---------------------------------------------------------

    def _validate(self) -> None:
        # Without a fixed name the handler generates a valid one at creation.
        request = {"TrainingJobName": "generated-by-the-handler", **self.request}
        problems = _VALIDATOR.problems(request) + cross_field_problems(request)
        problems.extend(self._library_problems())
        if problems:
            details = "\n".join(f"  - {self._describe(p)}" for p in problems)
            first = self._describe(problems[0])
            more = f" ({len(problems)} problems)\n{details}" if len(problems) > 1 else ""
            raise ValueError(f"[{self.node.path}] {first}{more}")

    def _library_problems(self) -> list[Problem]:
        """Rules of this library on top of the API's."""
        problems: list[Problem] = []
        tags = self.request.get("Tags")
        if isinstance(tags, list) and len(tags) > MAX_TAGS:
            problems.append(
                Problem(
                    "Tags",
                    len(tags),
                    f"must have at most {MAX_TAGS} tags (SageMaker allows 50; the library "
                    f"adds {len(cr_props.LIBRARY_TAGS)} to recognise its jobs)",
                )
            )
        resources = self.request.get("ResourceConfig") or {}
        count = resources.get("InstanceCount")
        if isinstance(count, int) and not is_unresolved(count) and count < 1:
            problems.append(Problem("ResourceConfig.InstanceCount", count, "must be at least 1"))
        problems.extend(self._timing_problems())
        return problems

    def _timing_problems(self) -> list[Problem]:
        """The job's longest run must fit what waits for it."""
        longest = self._longest_run_seconds()
        spot = self.request.get("EnableManagedSpotTraining") is True
        path = f"StoppingCondition.{'MaxWaitTimeInSeconds' if spot else 'MaxRuntimeInSeconds'}"
        margin = _SECONDS["START_AND_UPLOAD_MARGIN"]
        mode = self.completion.mode
        if longest is not None and longest > _SECONDS["MAX_JOB_RUNTIME"]:
            return [Problem(path, int(longest), "SageMaker runs a job for 28 days at most")]
        waited = _SECONDS["MAX_WAITED_RUNTIME"]
        if mode == CompletionMode.WAIT and longest is not None and longest > waited:
            fits = longest + margin <= _SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]
            proposal = "Completion.wait_condition()" if fits else "Completion.none()"
            return [
                Problem(
                    path,
                    int(longest),
                    "the deployment waits for the job (Completion.wait()), and CloudFormation "
                    f"waits for a resource at most one hour, {margin // 60} minutes of which "
                    "go to starting instances and uploading the model: it "
                    f"can be at most {waited} seconds ({_SECONDS['MAX_WAITED_RUNTIME'] // 60} "
                    f"minutes). For this job use completion={proposal}.",
                )
            ]
        if mode == CompletionMode.WAIT_CONDITION:
            return self._wait_condition_problems(longest, path)
        return []

    def _wait_condition_problems(self, longest: float | None, path: str) -> list[Problem]:
        limit = _SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]
        timeout = self.completion.timeout
        if timeout is not None:
            seconds = timeout.to_seconds()
            if seconds > limit:
                return [
                    Problem(
                        "completion.timeout",
                        int(seconds),
                        f"a CloudFormation wait condition waits at most {int(limit)} seconds "
                        "(12 hours); for longer jobs use completion=Completion.none()",
                    )
                ]
            if longest is not None and seconds < longest:
                return [
                    Problem(
                        "completion.timeout",
                        int(seconds),
                        f"it is shorter than the job may run ({int(longest)} s, {path}); "
                        "the deployment would fail while the job still trains",
                    )
                ]
            return []
        if longest is not None and longest + _SECONDS["START_AND_UPLOAD_MARGIN"] > limit:
            return [
                Problem(
                    path,
                    int(longest),
                    "Completion.wait_condition() waits at most 12 hours, "
                    f"{_SECONDS['START_AND_UPLOAD_MARGIN'] // 60} minutes of which go to starting "
                    "instances and uploading the model; for this job use "
                    "completion=Completion.none()",
                )
            ]
        return []

    @staticmethod
    def _describe(problem: Problem) -> str:
        where = f"{problem.path} ({props_for_path(problem.path)})"
        shown = "(missing)" if problem.value is None else repr(problem.value)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        return f"{where}: {shown} is invalid: {problem.rule}"

    def _warn_about_secrets(self) -> None:
        for member, prop in (
            ("HyperParameters", "hyperparameters"),
            ("Environment", "environment"),
        ):
            values = self.request.get(member)
            if not isinstance(values, Mapping):
                continue
            for key, value in values.items():
                reason = secret_reason(str(key), str(value))
                if reason:
                    Annotations.of(self).add_warning_v2(
                        SECRET_WARNING_ID,
                        f"{prop}[{key!r}] looks like a secret ({reason}): it would be stored "
                        "in plain text in the template and the job's description. Keep "
                        "secrets in AWS Secrets Manager and read them in the container, "
                        "granting the execution role secretsmanager:GetSecretValue.",
                    )


def _has_s3_gateway_endpoint(scope: Construct, vpc: ec2.IVpc) -> bool:
    """Whether the app defines an S3 gateway endpoint for ``vpc``."""
    vpc_id = vpc.vpc_id
    for construct in scope.node.root.node.find_all():
        if (
            isinstance(construct, ec2.CfnVPCEndpoint)
            and construct.vpc_id == vpc_id
            and str(construct.service_name).endswith(".s3")
            and construct.vpc_endpoint_type in (None, "Gateway")
        ):
            return True
    return False


def _removal_policy_name(scope: Construct, policy: RemovalPolicy) -> str:
    if policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return "retain"
    if policy == RemovalPolicy.DESTROY:
        return "destroy"
    raise ValueError(
        f"[{scope.node.path}] removal_policy: {policy!r} is invalid: a training job "
        "supports RETAIN or DESTROY (no SNAPSHOT)"
    )
