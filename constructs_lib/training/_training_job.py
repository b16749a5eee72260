"""The TrainingJob construct: a SageMaker training job as a resource of the stack."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import (
    Annotations,
    CfnWaitCondition,
    CustomResource,
    Duration,
    ITaggable,
    RemovalPolicy,
    Size,
    TagManager,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._shared.keywords import keywords
from .._shared.remembered import role_arn
from .._shared.schema.validate import Problem, Validator, cross_field_problems, is_unresolved
from .._shared.stacks import in_its_region, remember
from .._shared.typecheck import arguments, check_props
from ..core._completion import Completion, CompletionMode
from ..core._job import JobCore
from ..core._options import JobOptions
from ..core._problems import MAX_TAGS, raise_problems, superseding, tag_problems
from ..core._quality_gate import MetricThreshold
from ..core._timing import (
    DEADLINE_HEADROOM,
    MAX_JOB_RUNTIME,
    MAX_WAIT_CONDITION_TIMEOUT,
    MAX_WAITED_RUNTIME,
    MIN_SERVICE_TIMEOUT,
    START_AND_UPLOAD_MARGIN,
    Timing,
)
from ..core._wait_condition import ENDED_STATUSES, WAIT_KEY_CHARS
from ..definition import _debugger, _script_mode
from ..definition._code import TrainingCode
from ..definition._config import (
    Checkpoint,
    ExperimentConfig,
    InstanceGroup,
    InstancePlacement,
    MetricDefinition,
    MlflowConfig,
    ModelPackageConfig,
    S3Location,
    ServerlessJobConfig,
)
from ..definition._data import InputMode, TrainingInput, TrainingOutput
from ..definition._debugger import (
    DebugHookConfig,
    ProfilerConfig,
    RuleConfiguration,
    TensorBoardOutput,
)
from ..definition._distribution import Distribution
from ..definition._image import TrainingImage
from ..definition._instance_type import InstanceType
from ..definition._mistakes import check_metric_name, s3_prefix_problems
from ..definition._request import TrainingJobProps, props_for_path, props_of, render_request
from ..definition._secrets import SECRET_WARNING_ID, warn_about_secrets
from ..handler import properties as cr_props
from ..handler.kinds import TRAINING
from ..provider import TrainingJobProvider
from ..queueing._queue import ITrainingQueue
from ..queueing._queueing import (
    batch_statuses,
    queue_settings,
    service_job_rule,
    warn_if_waiting_is_short,
)
from ..schedule._parts import ScheduleParts
from ..schedule._scheduling import RetrainsOnSchedule
from ..security import _nag
from ..security._network import NO_S3_ROUTE_WARNING_ID, PUBLIC_SUBNETS_WARNING_ID
from ..serving import _alpha, _serving
from ..serving._registering import RegistersModels
from ._base import ITrainingJob, _ImportedTrainingJob

#: A Completion.none() job's model_data_url read: its consumer would precede the model.
UNFINISHED_ARTIFACTS_WARNING_ID = "constructs-lib:unfinished-artifacts"

__all__ = [
    "DEADLINE_HEADROOM",
    "ENDED_STATUSES",
    "MAX_JOB_RUNTIME",
    "MAX_TAGS",
    "MAX_WAITED_RUNTIME",
    "MAX_WAIT_CONDITION_TIMEOUT",
    "MIN_SERVICE_TIMEOUT",
    "NO_S3_ROUTE_WARNING_ID",
    "PUBLIC_SUBNETS_WARNING_ID",
    "SECRET_WARNING_ID",
    "START_AND_UPLOAD_MARGIN",
    "STATE_CHANGE",
    "UNFINISHED_ARTIFACTS_WARNING_ID",
    "WAIT_KEY_CHARS",
    "ITrainingJob",
    "TrainingJob",
]

STATE_CHANGE = TRAINING.detail_type

_VALIDATOR = Validator()


@jsii.implements(iam.IGrantable, ec2.IConnectable, ITaggable)
class TrainingJob(ITrainingJob, _serving.ServesTrainedModels, RegistersModels, RetrainsOnSchedule):
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

    @keywords("TrainingJob")
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
        hyperparameters: Mapping[str, Any] | None = None,
        code: TrainingCode | None = None,
        distribution: Distribution | None = None,
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
        max_quota_wait: Duration | None = None,
        queue: ITrainingQueue | None = None,
        scheduling_priority: int | None = None,
        share: str | None = None,
        quality_gate: Sequence[MetricThreshold] | None = None,
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
        :param enable_metrics_time_series: default: on for PyTorch (1.3 and later),
            TensorFlow (1.15 and later) and Hugging Face images, as the SDK's
            estimators set it; else SageMaker's (off).
        :param container_entrypoint: overrides the image's entrypoint; default: none.
        :param container_arguments: arguments to the entrypoint; default: none.
        :param instance_type: default: ``ml.m5.xlarge`` (none with ``instance_groups``).
        :param instance_count: default: 1 (none with ``instance_groups``).
        :param instance_groups: a heterogeneous cluster, instead of type and count;
            default: none.
        :param instance_placement: UltraServer placement; default: none.
        :param volume_size: storage volume per instance; default: 30 GiB, the SDK's
            default (none for a serverless job).
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
        :param hyperparameters: values passed to the algorithm (at most 100): strings
            for an algorithm or an image of your own; with ``code``, any JSON value
            (``str``, ``int``, ``float``, ``bool``, lists and dicts), encoded as the
            SageMaker SDK encodes them so that your script receives them typed.
            Default: none. Values that look like secrets get a synth warning.
        :param code: your own training code, run by the training toolkit of a
            framework image (``TrainingImage.from_framework``): the request carries
            ``sagemaker_program``, ``sagemaker_submit_directory``, ``sagemaker_region``
            and ``sagemaker_container_log_level``, and the execution role may read the
            code's archive. Default: none.
        :param distribution: how the framework container spreads the training over
            the instances (``Distribution.torch_distributed()``, ``Distribution.mpi(...)``
            ...), checked as the SageMaker SDK checks it; needs ``code``. Default: none.
        :param environment: environment variables of the container; default: none.
        :param tags: tags of the training job (at most 46, no ``aws:`` prefix);
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
        :param max_quota_wait: how long the job may wait for a slot when a SageMaker
            quota it needs is full because other jobs use it (CreateTrainingJob's
            ResourceLimitExceeded): the deployment tries again every 30 seconds
            instead of failing. ``Duration.seconds(0)`` fails at once. A request the
            quota can never hold fails at once. Default: as long as what waits for the
            job leaves room for (CloudFormation's hour less the job's longest run and
            its margins with ``Completion.wait()``; 24 minutes of the creation
            otherwise).
        :param queue: submit the job to this AWS Batch queue (a service job) instead
            of starting it directly: Batch starts it when the queue's capacity allows,
            and the deployment waits through the queue (the time queued counts). The
            training job is then named by Batch (``AWSBatch<name>...``):
            ``training_job_name`` reads it once the job completed. Default: none.
        :param scheduling_priority: the job's priority within its share of the queue
            (0 to 9999, higher first); default: Batch's.
        :param share: the job's share identifier, required on a queue with a
            fair-share policy (and refused without); default: none.
        :param quality_gate: bounds the job's final metrics must meet before the stack
            uses its model (``[MetricThreshold("validation:rmse", at_most=2.5)]``): a
            job that misses one, or does not report the metric, fails its resource,
            and CloudFormation rolls back (an update keeps the previous model). Each
            metric must be one the job reports; not with ``Completion.none()``.
            Default: none.
        """
        super().__init__(scope, construct_id)
        args = arguments(locals())
        check_props(self, TrainingJob.__init__, args)
        remember(self, scope, construct_id)
        options = JobOptions.of(args)
        with _nag.batch():
            #: What the job renders into its request: the props, captured once.
            self.props = self._bind_rules(props_of(args))
            self._bind(options, queue=queue, scheduling_priority=scheduling_priority, share=share)
            self._render(options)
            self._check()
            self._grant(construct_id)
            self._create_resource(options)

    # -- the constructor's steps ---------------------------------------------

    def _bind_rules(self, props: TrainingJobProps) -> TrainingJobProps:
        """The built-in rules bound by name: the region's evaluator, and the hook and
        profiler they read."""
        rules = _debugger.bind(
            self,
            debug_rules=props.debug_rules,
            profiler_rules=props.profiler_rules,
            debug_hook=props.debug_hook,
            profiler=props.profiler,
            output=props.output.location,
        )
        return dataclasses.replace(
            props,
            debug_rules=tuple(rules.debug_rules),
            profiler_rules=tuple(rules.profiler_rules),
            debug_hook=rules.debug_hook,
            profiler=rules.profiler,
        )

    def _bind(
        self,
        options: JobOptions,
        *,
        queue: ITrainingQueue | None,
        scheduling_priority: int | None,
        share: str | None,
    ) -> None:
        """The job core (role, completion, the stack's provider), the queue, and what
        the definition names (image, channels, code, network)."""
        completion = options.completion
        if completion is None and queue is not None:
            # The time queued is unknown: wait up to 12 hours, for Batch's event.
            completion = Completion.wait_condition()
        self._core = JobCore(
            self,
            TRAINING,
            role=options.role,
            completion=completion,
            removal_policy=options.removal_policy,
        )
        self.completion = self._core.completion
        self.role: iam.IRole = self._core.role
        groups = self.props.instance_groups
        instances = (
            sum(g.instance_count for g in groups) if groups else (self.props.instance_count or 1)
        )
        #: The job's AWS Batch settings (None: SageMaker starts it directly).
        self._queue = queue_settings(
            self,
            queue=queue,
            scheduling_priority=scheduling_priority,
            share=share,
            instances=instances,
            max_quota_wait=options.max_quota_wait,
        )
        self._bound = bound = self._core.bind_definition(self.props, instances=instances)
        self._image = bound.image
        #: Hyperparameters the handler fills in from the job's name.
        self._by_job_name = bound.by_job_name
        self._named_locations = bound.named_locations
        self._code = bound.code
        self._definition_problems = bound.problems

    def _render(self, options: JobOptions) -> None:
        """The CreateTrainingJob request, and how long the deployment waits for it."""
        bound = self._bound
        #: The rendered CreateTrainingJob request (values may be CDK tokens).
        self.request: dict[str, Any] = render_request(
            self.props,
            role_arn=role_arn(self.role),
            default_runtime=MAX_WAITED_RUNTIME,
            image=bound.image,
            inputs=bound.inputs,
            vpc_config=bound.vpc_config,
            hyperparameters=bound.hyperparameters,
        )
        spot = self.request.get("EnableManagedSpotTraining") is True
        self._timing = Timing(
            self.completion,
            self._longest_run_seconds(),
            "StoppingCondition." + ("MaxWaitTimeInSeconds" if spot else "MaxRuntimeInSeconds"),
            max_quota_wait=options.max_quota_wait,
            queued=self._queue is not None,
        )

    def _check(self) -> None:
        """The request against the API's model and the library's rules (errors), and
        what is legal but likely a mistake (warnings)."""
        self._validate()
        self._warn_about_secrets()
        if self._queue is not None and self.completion.mode == CompletionMode.WAIT:
            warn_if_waiting_is_short(self, self._timing.longest)

    def _grant(self, construct_id: str) -> None:
        """Tags, the execution role's grants, and the provider's rights on the job
        (the provider found or made now: a job that fails its checks leaves none)."""
        self.provider: TrainingJobProvider = self._core.provider
        self._tags, self._name_prefix = self._core.grant_and_register(
            self,
            self.props,
            self._bound,
            request=self.request,
            additional_request=self.props.additional_request,
            construct_id=construct_id,
            job_name=self.request.get("TrainingJobName"),
            uses_vpc="VpcConfig" in self.request,
            queue_arn=self._queue["JobQueue"] if self._queue else None,
        )

    def _create_resource(self, options: JobOptions) -> None:
        """The custom resource (and the completion mode's wiring), gated by the
        quality gate."""
        bound = self._bound
        self.resource: CustomResource = self._core.create_resource(
            self.request,
            queue=self._queue,
            name_prefix=self._name_prefix,
            timing=self._timing,
            wait_material=lambda: cr_props.without_in_place(self.request),
            rule=self._exact_rule,
            by_job_name=bound.by_job_name,
            named_locations=bound.named_locations,
            gate=options.quality_gate,
            gate_definition=self.request,
            emits_metrics=bool(bound.image and bound.image.emits_metrics),
            tags=self._tags,
        )
        #: The wait condition of ``Completion.wait_condition()`` (else None).
        self.wait_condition: CfnWaitCondition | None = self._core.wait_condition
        self._warned_of_artifacts = False
        #: The bounds the model's final metrics must meet (``quality_gate``).
        self.quality_gate: tuple[MetricThreshold, ...] = tuple(options.quality_gate or ())

    @property
    def tags(self) -> TagManager:
        """The job's tags (``ITaggable``): its own (``tags``) and what
        ``Tags.of(scope).add(...)`` adds, rendered into its request at synth."""
        return self._tags.manager

    def on_state_change(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        statuses: list[str] | None = None,
        description: str | None = None,
        rule_name: str | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this job's state changes: SageMaker's "SageMaker
        Training Job State Change" events; for a queued job, AWS Batch's "Batch Service
        Job State Change" events of its service job (Batch names the training job at
        deploy), whose ``status`` stands for the training job's (``InProgress``:
        SCHEDULED, STARTING, RUNNING; ``Completed``: SUCCEEDED; ``Failed`` and
        ``Stopped``: FAILED).

        A job with a schedule (``retrain_on_schedule``): also its scheduled runs'.

        :param statuses: only these ``TrainingJobStatus`` values; default: all.
        """
        if self._queue is None:
            return super().on_state_change(
                construct_id,
                target=target,
                statuses=statuses,
                description=description,
                rule_name=rule_name,
            )
        return service_job_rule(
            self,
            construct_id,
            self._core.job_name,  # the service job's ARN, set before the job's wait
            statuses=batch_statuses(statuses),
            description=description,
            rule_name=rule_name,
            target=target,
        )

    def _exact_rule(self, construct_id: str, statuses: list[str]) -> events.Rule:
        """The deploy's own rule (its wait condition's): this job's events only, never
        a scheduled run's."""
        if self._queue is not None:
            return self.on_state_change(construct_id, statuses=statuses)
        return super()._exact_rule(construct_id, statuses)

    def _schedule_parts(self) -> ScheduleParts:
        return ScheduleParts(
            kind=TRAINING,
            request=self.request,
            prefix=self.request.get("TrainingJobName") or self._name_prefix,
            role=self.role,
            by_job_name=dict(self._by_job_name),
            named_locations=dict(self._named_locations),
            queue=self._queue,
            longest_run=self._longest_run_seconds(),
        )

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
        return self._core.connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: grant it what your training code needs (into the
        role's inline policy when the job created the role)."""
        return self._core.grant_principal

    @property
    def training_job_name(self) -> str:
        """The job's name (the resource's physical id); for a queued job, the name AWS
        Batch gave the training job, known once it completed."""
        if self._queue is not None:
            return self._queued_attribute("TrainingJobName", "training_job_name")
        return self._core.job_name

    @property
    def training_job_arn(self) -> str:
        """The job's ARN (once it completed, unless the completion mode is none)."""
        if self._queue is not None:
            return self._queued_attribute("TrainingJobArn", "training_job_arn")
        return self._core.attribute("TrainingJobArn")

    def _queued_attribute(self, attribute: str, member: str) -> str:
        """What a queued job knows only once Batch's training job completed."""
        if self.completion.mode == CompletionMode.NONE:
            raise ValueError(
                f"[{self.node.path}] {member}: not available for a queued job with "
                "Completion.none(): AWS Batch names its training job when it starts it, "
                "after the deployment stopped waiting. Wait for the job (leave "
                "completion unset), or read the name from the job's events."
            )
        return self._core.attribute(attribute)

    @property
    def model_data_url(self) -> str:
        """S3 URI of the model artifacts (``model.tar.gz``). A resource that reads it is
        created only after the job completed, unless the completion mode is none:
        then it is where the model will be."""
        if self._queue is not None:
            return self._queued_attribute("ModelArtifacts", "model_data_url")
        if self.completion.mode == CompletionMode.NONE:
            self._warn_of_unfinished_artifacts()
            output = self.props.output
            return f"{output.s3_uri}{self.training_job_name}/output/model.tar.gz"
        return in_its_region(self, self._core.attribute("ModelArtifacts"), "model_data_url")

    def _warn_of_unfinished_artifacts(self) -> None:
        if self._warned_of_artifacts:
            return
        self._warned_of_artifacts = True
        Annotations.of(self).add_warning_v2(
            UNFINISHED_ARTIFACTS_WARNING_ID,
            "model_data_url of a job with Completion.none(): where the model will be once "
            "the job completed. The deployment does not wait for it, so a resource of "
            "this app built from it (a model, an endpoint) is created before the "
            "artifacts exist, and SageMaker refuses a model without them. Wait for the "
            "job (Completion.wait() or wait_condition()), or use the URL only outside "
            "the deploy (an output, a later stack).",
        )

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
        check_metric_name(self, name, self.props.metric_definitions, self._image)
        return self._core.attribute(f"Metric.{name}")

    @property
    def model_data(self) -> Any:
        """The model artifacts as an ``aws_cdk.aws_sagemaker_alpha.ModelData``, for
        ``alpha.Model(containers=[alpha.ContainerDefinition(image=...,
        model_data=job.model_data)])``: binding it grants the model's role read on
        exactly these artifacts. Needs the optional package
        ``aws-cdk.aws-sagemaker-alpha`` (the ``[alpha]`` extra)."""
        return _alpha.model_data(self, self.model_data_url, self.grant_read_model_artifacts)

    def _trained_model(self) -> _serving.TrainedModel:
        return _serving.TrainedModel(
            scope=self,
            spec=self._image.framework if self._image is not None else None,
            model_data_url=self.model_data_url,
            completion=self.completion,
            props=self.props,
            grant_read_model_artifacts=self.grant_read_model_artifacts,
            training_job=TrainingJob,
            image=self._image,
        )

    def _registration_metadata(self) -> dict[str, str]:
        """What a registered version says of the job: its ARN and gated metrics."""
        return {
            "TrainingJobArn": self.training_job_arn,
            **{f"Metric.{t.metric}": self.metric(t.metric) for t in self.quality_gate},
        }

    def grant_read_model_artifacts(
        self, grantee: iam.IGrantable, *, every_job: bool = False
    ) -> None:
        """Let ``grantee`` (e.g. a model's execution role) read this job's artifacts:
        the objects under ``<output prefix><job name>/``, and decrypt them.

        :param every_job: the artifacts of every job of this construct (the objects
            under the output prefix), without naming this job: for the role of another
            job the stack's provider starts (a processing job's), whose grants must not
            wait for this job. Default: this job's only.
        """
        output = self.props.output
        folder = "" if every_job else f"{self.training_job_name}/"
        S3Location(output.bucket, f"{output.key_prefix}{folder}").grant_get(grantee)
        if output.encryption_key is not None:
            output.encryption_key.grant_decrypt(grantee)

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

    def _wait_key(self) -> str:
        """Identifies the job's wait condition (see ``JobCore.wait_key``)."""
        return self._core.wait_key(cr_props.without_in_place(self.request), self._timing)

    # -- validation ---------------------------------------------------------

    def _validate(self) -> None:
        # Without a fixed name the handler generates a valid one at creation.
        request = {"TrainingJobName": "generated-by-the-handler", **self.request}
        api = _VALIDATOR.problems(request) + cross_field_problems(request)
        raise_problems(self, superseding(api, self._library_problems()), props_for_path)

    def _library_problems(self) -> list[Problem]:
        """Rules of this library on top of the API's."""
        problems = [
            *self._definition_problems,
            *s3_prefix_problems(self.request),
            *tag_problems(self.request),
        ]
        resources = self.request.get("ResourceConfig") or {}
        count = resources.get("InstanceCount")
        if isinstance(count, int) and not is_unresolved(count) and count < 1:
            problems.append(Problem("ResourceConfig.InstanceCount", count, "must be at least 1"))
        problems.extend(self._timing.problems())
        return problems

    def _warn_about_secrets(self) -> None:
        warn_about_secrets(
            self,
            [
                (
                    _script_mode.users_own(
                        self.request.get("HyperParameters"), self.props.hyperparameters
                    ),
                    "hyperparameters",
                ),
                (self.request.get("Environment"), "environment"),
            ],
        )
