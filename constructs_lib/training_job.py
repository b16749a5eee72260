"""The TrainingJob construct: a SageMaker training job as a resource of the stack."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import ArnFormat, CustomResource, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._validation import check_job_name, check_range, fail, is_token
from .data import InputMode, TrainingInput, TrainingOutput
from .handler import properties as cr_props
from .image import TrainingImage
from .instance_type import InstanceType
from .provider import MAX_SERVICE_TIMEOUT, TrainingJobProvider

MAX_CHANNELS = 20
MAX_HYPERPARAMETERS = 100
# 50 tags per job; the handler adds one (OWNER_TAG) to recognise its own jobs.
MAX_TAGS = 49
MAX_RUNTIME = Duration.days(28)
#: Time a job needs beyond its max runtime: instances to start, data and image to
#: download, the model to upload. The deployment's wait allows for it.
START_AND_UPLOAD_MARGIN = Duration.minutes(15)
#: The longest max runtime that waiting mode can hold within CloudFormation's hour.
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


def render_algorithm_specification(
    image: TrainingImage, input_mode: InputMode = InputMode.FILE
) -> dict[str, Any]:
    """The request's ``AlgorithmSpecification``."""
    return {"TrainingImage": image.image_uri, "TrainingInputMode": input_mode.value}


def render_resource_config(
    instance_type: InstanceType, instance_count: int, volume_size: Size
) -> dict[str, Any]:
    """The request's ``ResourceConfig``."""
    return {
        "InstanceType": str(instance_type),
        "InstanceCount": instance_count,
        "VolumeSizeInGB": volume_size.to_gibibytes(),
    }


def render_stopping_condition(max_runtime: Duration) -> dict[str, Any]:
    """The request's ``StoppingCondition``."""
    return {"MaxRuntimeInSeconds": max_runtime.to_seconds()}


def render_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The request's ``Tags``, sorted by key so the template is stable."""
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


@jsii.implements(iam.IGrantable)
class TrainingJob(Construct):
    """A SageMaker training job, created when the stack deploys.

    The deployment waits until the job completes, fails at once when the job
    fails, and exposes the model artifacts as :attr:`model_data_url`.

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
        image: TrainingImage,
        output: TrainingOutput,
        inputs: Sequence[TrainingInput] = (),
        input_mode: InputMode = InputMode.FILE,
        instance_type: InstanceType | None = None,
        instance_count: int = 1,
        volume_size: Size | None = None,
        max_runtime: Duration | None = None,
        hyperparameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        training_job_name: str | None = None,
        role: iam.IRole | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param image: the training container image.
        :param output: where the model artifacts are written.
        :param inputs: input channels, at most 20 with unique names; default: none.
        :param input_mode: the job's default input mode; default: ``InputMode.FILE``.
        :param instance_type: default: ``ml.m5.xlarge``.
        :param instance_count: default: 1.
        :param volume_size: storage volume per instance; default: 10 GiB.
        :param max_runtime: after this long SageMaker stops the job. The deployment
            waits for the job, which CloudFormation allows for one hour at most, start-up
            and upload included: at most 45 minutes. Default: 45 minutes.
        :param hyperparameters: string values passed to the algorithm; default: none.
        :param environment: environment variables of the container; default: none.
        :param tags: tags of the training job; default: none.
        :param training_job_name: a fixed job name; default: a unique name generated
            at each creation (``<stack>-<hash>-<id>-<hash>``). A fixed name prevents
            replacement: a change that needs a new job then fails.
        :param role: the execution role SageMaker assumes; default: a role created
            for this job, with exactly the grants it needs. A given role gets the same
            grants added.
        :param removal_policy: what a stack delete (or a replacement) does to the job
            record: ``RETAIN`` keeps it, ``DESTROY`` deletes it once it stopped. A
            running job is always stopped; model artifacts in S3 are never deleted.
            Default: ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        self._image = image
        self._inputs = list(inputs)
        self._output = output
        self._input_mode = input_mode
        self._instance_type = instance_type or InstanceType.of("ml.m5.xlarge")
        self._instance_count = instance_count
        self._volume_size = volume_size or Size.gibibytes(10)
        self._max_runtime = max_runtime or MAX_WAITED_RUNTIME
        self._hyperparameters = dict(hyperparameters or {})
        self._environment = dict(environment or {})
        self._tags = dict(tags or {})
        self._training_job_name = training_job_name
        self._removal_policy = removal_policy
        self._validate()

        self.role: iam.IRole = role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of training job {self.node.path}",
        )
        self._grant_execution_role()

        self.provider = TrainingJobProvider.of(self)
        self.provider.register_job(execution_role=self.role, job_name=training_job_name)

        self.request: dict[str, Any] = self._render_request()
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
                cr_props.REMOVAL_POLICY: _removal_policy_name(self, removal_policy),
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

    def _service_timeout(self) -> Duration:
        """How long CloudFormation waits for this job: its max runtime plus the
        start-up and upload margin, within CloudFormation's one hour."""
        needed = self._max_runtime.to_seconds() + START_AND_UPLOAD_MARGIN.to_seconds()
        return Duration.seconds(max(needed, MIN_SERVICE_TIMEOUT.to_seconds()))

    # -- rendering ----------------------------------------------------------

    def _render_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "AlgorithmSpecification": render_algorithm_specification(self._image, self._input_mode),
            "RoleArn": self.role.role_arn,
            "OutputDataConfig": self._output.render(),
            "ResourceConfig": render_resource_config(
                self._instance_type, self._instance_count, self._volume_size
            ),
            "StoppingCondition": render_stopping_condition(self._max_runtime),
        }
        if self._training_job_name is not None:
            request["TrainingJobName"] = self._training_job_name
        if self._inputs:
            request["InputDataConfig"] = [channel.render() for channel in self._inputs]
        if self._hyperparameters:
            request["HyperParameters"] = dict(sorted(self._hyperparameters.items()))
        if self._environment:
            request["Environment"] = dict(sorted(self._environment.items()))
        if self._tags:
            request["Tags"] = render_tags(self._tags)
        return request

    # -- grants -------------------------------------------------------------

    def _grant_execution_role(self) -> None:
        self._image.grant_pull(self)
        for channel in self._inputs:
            channel.grant_read(self)
        self._output.grant_write(self)
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
        if self._training_job_name is not None:
            check_job_name(self, "training_job_name", self._training_job_name)
        check_range(self, "inputs", len(self._inputs), maximum=MAX_CHANNELS, unit="channels")
        seen: set[str] = set()
        for channel in self._inputs:
            name = channel.channel_name
            if not is_token(name) and name in seen:
                raise fail(self, "inputs", name, "channel names must be unique")
            seen.add(name)
        check_range(self, "instance_count", self._instance_count, minimum=1)
        check_range(self, "volume_size", self._volume_size.to_gibibytes(), minimum=1, unit="GiB")
        check_range(
            self,
            "max_runtime",
            self._max_runtime.to_seconds(),
            minimum=1,
            maximum=MAX_RUNTIME.to_seconds(),
            unit="seconds (28 days)",
        )
        if self._max_runtime.to_seconds() > MAX_WAITED_RUNTIME.to_seconds():
            raise fail(
                self,
                "max_runtime",
                f"{self._max_runtime.to_seconds()} seconds",
                "the deployment waits for the job, and CloudFormation waits for a resource "
                f"at most one hour, {START_AND_UPLOAD_MARGIN.to_minutes()} minutes of which "
                "go to starting instances and uploading the model: max_runtime can be at "
                f"most {MAX_WAITED_RUNTIME.to_minutes()} minutes. Completion modes for "
                "longer jobs (waiting on the job's state-change event) are planned.",
            )
        check_range(
            self,
            "hyperparameters",
            len(self._hyperparameters),
            maximum=MAX_HYPERPARAMETERS,
            unit="entries",
        )
        check_range(
            self,
            "tags",
            len(self._tags),
            maximum=MAX_TAGS,
            unit="tags (SageMaker allows 50; the library uses one to recognise its jobs)",
        )
        for key in self._tags:
            if not is_token(key) and key.lower().startswith("aws:"):
                raise fail(self, "tags", key, "the 'aws:' prefix is reserved for AWS")


def _removal_policy_name(scope: Construct, policy: RemovalPolicy) -> str:
    if policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return "retain"
    if policy == RemovalPolicy.DESTROY:
        return "destroy"
    raise fail(
        scope, "removal_policy", policy, "a training job supports RETAIN or DESTROY (no SNAPSHOT)"
    )
