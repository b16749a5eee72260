"""The TrainingJob construct: a SageMaker training job as a resource of the stack."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Annotations, ArnFormat, CustomResource, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._schema.validate import Problem, Validator, cross_field_problems, is_unresolved
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
    ServerlessJobConfig,
    TensorBoardOutput,
)
from .data import InputMode, TrainingInput, TrainingOutput
from .handler import properties as cr_props
from .image import TrainingImage
from .instance_type import InstanceType
from .provider import MAX_SERVICE_TIMEOUT, TrainingJobProvider
from .request import TrainingJobProps, props_for_path, render_request, secret_reason

# 50 tags per job; the handler adds one (OWNER_TAG) to recognise its own jobs.
MAX_TAGS = 49
#: Time a job needs beyond its max runtime: instances to start, data and image to
#: download, the model to upload. The deployment's wait allows for it.
START_AND_UPLOAD_MARGIN = Duration.minutes(15)
#: The longest run (max runtime, or max wait with spot) that waiting mode can hold
#: within CloudFormation's hour.
MAX_WAITED_RUNTIME = Duration.minutes(
    MAX_SERVICE_TIMEOUT.to_minutes() - START_AND_UPLOAD_MARGIN.to_minutes()
)
#: A shorter ServiceTimeout would leave a delete no time to stop the job and wait
#: for its network interfaces.
MIN_SERVICE_TIMEOUT = Duration.minutes(30)
#: The handler gives up this long before CloudFormation would, to say why.
DEADLINE_HEADROOM = Duration.minutes(5)
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
SECRET_WARNING_ID = "constructs-lib:possible-secret"

_VALIDATOR = Validator()


@jsii.implements(iam.IGrantable)
class TrainingJob(Construct):
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
    ) -> None:
        """
        :param output: where the model artifacts are written (``OutputDataConfig``).
        :param image: the training container (``AlgorithmSpecification``); required
            unless ``serverless``.
        :param inputs: input channels, 1 to 20 with unique names; default: none.
        :param input_mode: the job's default input mode; default: ``InputMode.FILE``.
        :param metric_definitions: metrics captured from the logs; default: none.
        :param enable_metrics_time_series: default: SageMaker's (off).
        :param container_entrypoint: overrides the image's entrypoint; default: none.
        :param container_arguments: arguments to the entrypoint; default: none.
        :param instance_type: default: ``ml.m5.xlarge`` (none with ``instance_groups``).
        :param instance_count: default: 1 (none with ``instance_groups``).
        :param instance_groups: a heterogeneous cluster, instead of type and count.
        :param instance_placement: UltraServer placement; default: none.
        :param volume_size: storage volume per instance; default: 10 GiB (none for
            a serverless job).
        :param volume_encryption_key: KMS key of the storage volume; default: AWS
            managed encryption.
        :param keep_alive: keep the instances in a warm pool this long after the job;
            default: no warm pool.
        :param max_runtime: after this long SageMaker stops the job. The deployment
            waits for the job, which CloudFormation allows for one hour at most,
            start-up and upload included: at most 45 minutes. Default: 45 minutes.
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
        :param tags: tags of the training job (at most 49, no ``aws:`` prefix);
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
        """
        super().__init__(scope, construct_id)
        self.props = TrainingJobProps(
            image=image,
            output=output,
            inputs=tuple(inputs),
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

        self.role: iam.IRole = role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of training job {self.node.path}",
        )
        #: The rendered CreateTrainingJob request (values may be CDK tokens).
        self.request: dict[str, Any] = render_request(
            self.props, role_arn=self.role.role_arn, default_runtime=MAX_WAITED_RUNTIME
        )
        self._validate()
        self._warn_about_secrets()
        self._grant_execution_role()

        self.provider = TrainingJobProvider.of(self)
        self.provider.register_job(
            execution_role=self.role,
            job_name=self.request.get("TrainingJobName"),
            uses_vpc="VpcConfig" in self.request,
        )
        service_timeout = self._service_timeout()
        deadline = service_timeout.to_seconds() - DEADLINE_HEADROOM.to_seconds()
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type=cr_props.RESOURCE_TYPE,
            service_timeout=service_timeout,
            properties={
                cr_props.REQUEST: self.request,
                cr_props.NAME_PREFIX: self.provider.job_name_prefix_for(construct_id),
                cr_props.REMOVAL_POLICY: removal,
                cr_props.WAIT_TIMEOUT: deadline,
            },
        )
        # The execution role and its grants must exist before the job starts.
        self.resource.node.add_dependency(self.role)

    # -- attributes ---------------------------------------------------------

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: grant it what your training code needs."""
        return self.role.grant_principal

    @property
    def training_job_name(self) -> str:
        """The job's name (the resource's physical id)."""
        return self.resource.ref

    @property
    def training_job_arn(self) -> str:
        """The job's ARN, once it completed."""
        return self.resource.get_att_string("TrainingJobArn")

    @property
    def model_data_url(self) -> str:
        """S3 URI of the model artifacts (``model.tar.gz``). A resource that reads it is
        created only after the job completed."""
        return self.resource.get_att_string("ModelArtifacts")

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
        start-up and upload margin, within CloudFormation's one hour."""
        longest = self._longest_run_seconds()
        if longest is None:
            return MAX_SERVICE_TIMEOUT
        needed = int(longest) + START_AND_UPLOAD_MARGIN.to_seconds()
        return Duration.seconds(
            min(max(needed, MIN_SERVICE_TIMEOUT.to_seconds()), MAX_SERVICE_TIMEOUT.to_seconds())
        )

    # -- grants -------------------------------------------------------------

    def _grant_execution_role(self) -> None:
        props = self.props
        if props.image is not None:
            props.image.grant_pull(self)
        for channel in props.inputs:
            channel.grant_read(self)
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
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[props.volume_encryption_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        stack = Stack.of(self)
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=TRAINING_LOG_GROUP,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_group_arn, f"{log_group_arn}:log-stream:*"],
            )
        )
        # cloudwatch:PutMetricData supports no resource scoping; the namespace
        # condition limits it to SageMaker's training job metrics.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
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
                    "adds one to recognise its jobs)",
                )
            )
        resources = self.request.get("ResourceConfig") or {}
        count = resources.get("InstanceCount")
        if isinstance(count, int) and not is_unresolved(count) and count < 1:
            problems.append(Problem("ResourceConfig.InstanceCount", count, "must be at least 1"))
        longest = self._longest_run_seconds()
        if longest is not None and longest > MAX_WAITED_RUNTIME.to_seconds():
            spot = self.request.get("EnableManagedSpotTraining") is True
            member = "MaxWaitTimeInSeconds" if spot else "MaxRuntimeInSeconds"
            problems.append(
                Problem(
                    f"StoppingCondition.{member}",
                    int(longest),
                    "the deployment waits for the job, and CloudFormation waits for a "
                    f"resource at most one hour, {START_AND_UPLOAD_MARGIN.to_minutes()} "
                    "minutes of which go to starting instances and uploading the model: "
                    f"it can be at most {MAX_WAITED_RUNTIME.to_seconds()} seconds "
                    f"({MAX_WAITED_RUNTIME.to_minutes()} minutes). Completion modes for "
                    "longer jobs (waiting on the job's state-change event) are planned.",
                )
            )
        return problems

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


def _removal_policy_name(scope: Construct, policy: RemovalPolicy) -> str:
    if policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return "retain"
    if policy == RemovalPolicy.DESTROY:
        return "destroy"
    raise ValueError(
        f"[{scope.node.path}] removal_policy: {policy!r} is invalid: a training job "
        "supports RETAIN or DESTROY (no SNAPSHOT)"
    )
