"""The ProcessingJob construct: a SageMaker processing job as a resource of the stack,
on the job core, the stack's provider and the lifecycle of every job kind."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import (
    CfnWaitCondition,
    CustomResource,
    Duration,
    ITaggable,
    RemovalPolicy,
    Size,
    TagManager,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._shared.keywords import keywords
from .._shared.remembered import bucket_arn, bucket_key, objects_arn, role_arn
from .._shared.schema import load
from .._shared.schema.validate import Problem, Validator, is_unresolved
from .._shared.stacks import remember
from .._shared.typecheck import arguments as arguments_of
from .._shared.typecheck import check_props
from ..core._completion import Completion, CompletionMode
from ..core._events import OwnStateChanges
from ..core._grants import grant_volume_key
from ..core._job import JobCore
from ..core._options import JobOptions
from ..core._problems import raise_problems, superseding, tag_problems
from ..core._quality_gate import MetricThreshold
from ..core._timing import MAX_WAITED_RUNTIME, SECONDS, Timing
from ..definition._code import TrainingCode
from ..definition._config import ExperimentConfig, S3Location
from ..definition._image import ImageConfig, TrainingImage
from ..definition._instance_type import InstanceType
from ..definition._secrets import warn_about_secrets
from ..handler import properties as cr_props
from ..handler.kinds import PROCESSING
from ..security import _nag
from ..security._compact import allow_list_bucket
from ..security._ecr_pull import grant_repository_pull
from ..security._nag import add_statement
from ..security._network import grant_network_interfaces
from ._code import CODE_INPUT, ENTRYPOINT_INPUT, BoundCode, bind_code
from ._io import ProcessingInput, ProcessingOutput
from ._report import EvaluationReport
from ._request import (
    DEFAULT_INSTANCE_TYPE,
    ProcessingProps,
    processing_props_for_path,
    processing_props_of,
    render_processing_request,
)

STATE_CHANGE = PROCESSING.detail_type


@functools.cache
def _validator() -> Validator:
    """CreateProcessingJob's validator, loaded with the first processing job."""
    return Validator(load("CreateProcessingJob"))


@jsii.implements(iam.IGrantable, ec2.IConnectable, ITaggable)
class ProcessingJob(OwnStateChanges, Construct):
    """A SageMaker processing job, created when the stack deploys: data preparation,
    feature engineering, a model's evaluation.

    The deployment waits until the job completes, fails at once when it fails (naming
    SageMaker's reason and the script's exit message), and gives each output's S3
    location (:meth:`output_uri`) to the rest of the stack. With a ``report``, the
    handler reads the job's evaluation report, and a ``quality_gate`` holds the stack
    back when the evaluated model misses its bounds. Every member of the
    CreateProcessingJob request can be set (the common ones through the props below,
    anything else through ``additional_request``), validated at synth against the
    API's model.

    Example::

        evaluate = ProcessingJob(self, "Evaluate",
            image=TrainingImage.from_framework("sklearn", "1.2-1"),
            code=TrainingCode.from_directory("evaluation", entry_point="evaluate.py"),
            inputs=[
                ProcessingInput.from_training_job("model", train),
                ProcessingInput.from_bucket("test", bucket, "test/"),
            ],
            outputs=[ProcessingOutput.to_bucket("evaluation", bucket, "evaluation/")],
            report=EvaluationReport(output="evaluation", path="evaluation.json",
                                    metrics={"mse": "regression_metrics.mse.value"}),
            quality_gate=[MetricThreshold("mse", at_most=4.0)],
        )
    """

    @keywords("ProcessingJob")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: TrainingImage,
        code: TrainingCode | None = None,
        command: Sequence[str] | None = None,
        entrypoint: Sequence[str] | None = None,
        arguments: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        inputs: Sequence[ProcessingInput] = (),
        outputs: Sequence[ProcessingOutput] = (),
        output_encryption_key: kms.IKey | None = None,
        instance_type: InstanceType | None = None,
        instance_count: int | None = None,
        volume_size: Size | None = None,
        volume_encryption_key: kms.IKey | None = None,
        max_runtime: Duration | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        network_isolation: bool | None = None,
        inter_container_traffic_encryption: bool | None = None,
        experiment: ExperimentConfig | None = None,
        tags: Mapping[str, str] | None = None,
        processing_job_name: str | None = None,
        report: EvaluationReport | None = None,
        additional_request: Mapping[str, Any] | None = None,
        role: iam.IRole | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        completion: Completion | None = None,
        max_quota_wait: Duration | None = None,
        quality_gate: Sequence[MetricThreshold] | None = None,
    ) -> None:
        """
        :param image: the container (``AppSpecification.ImageUri``): a framework image
            (``TrainingImage.from_framework("sklearn", "1.2-1")``, as the SDK's
            processors use the frameworks' images), an image URI, a repository of
            yours or a Docker asset; required.
        :param code: your script and the files beside it, run as the SDK's
            ``FrameworkProcessor.run(code=, source_dir=)`` runs them: the archive as
            the input ``code``, a ``runproc.sh`` that unpacks it, installs its
            ``requirements.txt`` and runs ``<command> <entry point> <arguments>``.
            Default: none (the image's own entrypoint, or ``entrypoint``).
        :param command: what runs the entry point; default: ``["python"]`` (the SDK's
            ``FrameworkProcessor``). Needs ``code``.
        :param entrypoint: the container's entrypoint (``ContainerEntrypoint``), for
            an image without ``code``; default: the image's.
        :param arguments: arguments to the script or entrypoint
            (``ContainerArguments``); default: none.
        :param environment: environment variables (at most 100); default: none.
            Values that look like secrets get a synth warning.
        :param inputs: what the job reads (at most 10 with the code's two), each
            downloaded to its local path; default: none.
        :param outputs: what the job writes, each uploaded to a folder of its own per
            job (``<key prefix><job name>/<output name>/``); default: none.
        :param output_encryption_key: the KMS key SageMaker encrypts the outputs with
            (``ProcessingOutputConfig.KmsKeyId``); default: the bucket's encryption.
        :param instance_type: default: ``ml.m5.xlarge``.
        :param instance_count: default: 1.
        :param volume_size: storage volume per instance; default: 30 GiB (the SDK's).
        :param volume_encryption_key: KMS key of the storage volume; default: AWS
            managed encryption.
        :param max_runtime: after this long SageMaker stops the job. With
            ``Completion.wait()`` (the default) at most 45 minutes (CloudFormation's
            hour, start-up and upload included); with ``wait_condition()`` 11 h 45
            min; with ``none()`` 9 days. Default: 45 minutes.
        :param vpc: run the job in this VPC (``NetworkConfig.VpcConfig``); default: no
            VPC.
        :param vpc_subnets: default: the VPC's private subnets.
        :param security_groups: default: a security group created for the job.
        :param network_isolation: no network access for the container; default: off.
        :param inter_container_traffic_encryption: default: off.
        :param experiment: SageMaker Experiments association; default: none.
        :param tags: tags of the job (at most 46, no ``aws:`` prefix); default: none.
        :param processing_job_name: a fixed job name; default: a unique name generated
            at each creation. A fixed name prevents replacement: a change that needs a
            new job then fails.
        :param report: the job's evaluation report (``EvaluationReport``): read once
            the job completed, its metrics become the job's (:meth:`metric`), which
            ``quality_gate`` bounds; a missing report or metric fails the resource.
            Default: none.
        :param additional_request: merged into the rendered request last: objects
            merge member by member, lists and scalars replace, ``None`` removes.
            Validated like the rest. Default: none.
        :param role: the execution role SageMaker assumes; default: a role created for
            this job, with exactly the grants it needs.
        :param removal_policy: ``RETAIN`` keeps the job record on delete, ``DESTROY``
            deletes it once stopped; outputs in S3 are never deleted. Default: ``RETAIN``.
        :param completion: what the deployment waits for: ``Completion.wait()``,
            ``Completion.wait_condition()`` or ``Completion.none()``. Default: ``wait()``.
        :param max_quota_wait: how long the job may wait for a slot of a full quota
            (CreateProcessingJob's ResourceLimitExceeded); default: as long as what
            waits for the job leaves room for.
        :param quality_gate: bounds the report's metrics must meet
            (``[MetricThreshold("mse", at_most=4.0)]``): a report that misses one, or
            lacks the metric, fails the resource and CloudFormation rolls back (an
            update keeps what the stack had). Needs ``report``. Default: none.
        """
        super().__init__(scope, construct_id)
        args = arguments_of(locals())
        check_props(self, ProcessingJob.__init__, args)
        remember(self, scope, construct_id)
        options = JobOptions.of(args)
        with _nag.batch():
            #: What the job renders into its request: the props, captured once.
            self.props: ProcessingProps = processing_props_of(args)
            self._bind(options)
            self._render(options)
            self._check(options)
            self._grant(construct_id)
            self._create_resource(options)

    # -- the constructor's steps ---------------------------------------------

    def _bind(self, options: JobOptions) -> None:
        """The job core (role, completion, the stack's provider), the image, the code
        and the network."""
        props = self.props
        self._core = JobCore(
            self,
            PROCESSING,
            role=options.role,
            completion=options.completion,
            removal_policy=options.removal_policy,
        )
        self.completion = self._core.completion
        self.role: iam.IRole = self._core.role
        instance_type = str(props.instance_type or InstanceType.of(DEFAULT_INSTANCE_TYPE))
        self._image: ImageConfig = props.image._bind_to_job(self, instance_types=[instance_type])
        # Local files become assets of the job.
        self.props = props = dataclasses.replace(
            props, inputs=tuple(item.bind(self) for item in props.inputs)
        )
        self._code: BoundCode | None = None
        if props.code is not None:
            self._code = bind_code(self, props.code.bind(self), props.command)
        self._security_groups, self._subnet_ids, self._vpc_config = self._core.bind_network(
            vpc=props.vpc,
            vpc_subnets=props.vpc_subnets,
            security_groups=props.security_groups,
            instances=props.instance_count or 1,
        )

    def _render(self, options: JobOptions) -> None:
        """The CreateProcessingJob request, and how long the deployment waits."""
        image_uri = self._image.image_uri
        #: The rendered CreateProcessingJob request (values may be CDK tokens).
        self.request: dict[str, Any] = render_processing_request(
            self.props,
            role_arn=role_arn(self.role),
            image_uri=image_uri if image_uri is not None else "",
            default_runtime=MAX_WAITED_RUNTIME,
            code=self._code,
            vpc_config=self._vpc_config,
        )
        runtime = (self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        self._timing = Timing(
            self.completion,
            None if runtime is None or is_unresolved(runtime) else float(runtime),
            "StoppingCondition.MaxRuntimeInSeconds",
            max_run_seconds=SECONDS["MAX_PROCESSING_RUNTIME"],
            max_quota_wait=options.max_quota_wait,
        )

    def _check(self, options: JobOptions) -> None:
        """The request against the API's model and the library's rules."""
        request = {"ProcessingJobName": "generated-by-the-handler", **self.request}
        api = _validator().problems(request)
        raise_problems(
            self,
            superseding(api, self._library_problems(options)),
            processing_props_for_path,
        )
        warn_about_secrets(self, [(self.request.get("Environment"), "environment")])

    def _library_problems(self, options: JobOptions) -> list[Problem]:
        props = self.props
        problems = [*tag_problems(self.request), *self._timing.problems()]
        if self._image.image_uri is None:
            problems.append(
                Problem(
                    "AppSpecification.ImageUri",
                    None,
                    "a processing job runs an image: an algorithm resource has none",
                )
            )
        cluster = (self.request.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        count = cluster.get("InstanceCount")
        if isinstance(count, int) and not is_unresolved(count) and count < 1:
            problems.append(
                Problem(
                    "ProcessingResources.ClusterConfig.InstanceCount", count, "must be at least 1"
                )
            )
        if props.code is not None and props.entrypoint is not None:
            problems.append(
                Problem(
                    "AppSpecification.ContainerEntrypoint",
                    list(props.entrypoint),
                    "with code, the entrypoint is the code's runproc.sh: leave entrypoint unset",
                )
            )
        if props.command is not None and props.code is None:
            problems.append(
                Problem(
                    "AppSpecification.ContainerEntrypoint",
                    list(props.command),
                    "command needs code",
                )
            )
        problems.extend(self._name_problems())
        problems.extend(self._report_problems(options))
        return problems

    def _name_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        reserved = {CODE_INPUT, ENTRYPOINT_INPUT} if self._code is not None else set()
        seen: set[str] = set()
        for item in self.props.inputs:
            name = item.input_name
            if name in reserved:
                problems.append(
                    Problem(
                        "ProcessingInputs",
                        name,
                        f"the inputs {sorted(reserved)} bring the job's code: name yours otherwise",
                    )
                )
            elif name in seen:
                problems.append(Problem("ProcessingInputs", name, "input names must be unique"))
            seen.add(name)
        outputs: set[str] = set()
        for output in self.props.outputs:
            if output.output_name in outputs:
                problems.append(
                    Problem(
                        "ProcessingOutputConfig.Outputs",
                        output.output_name,
                        "output names must be unique",
                    )
                )
            outputs.add(output.output_name)
        return problems

    def _report_problems(self, options: JobOptions) -> list[Problem]:
        report = self.props.report
        gated = [t.metric for t in options.quality_gate or () if isinstance(t, MetricThreshold)]
        if report is None:
            if options.quality_gate:
                return [
                    Problem(
                        "quality_gate",
                        gated,
                        "a processing job's gate bounds the metrics of its report: set report",
                    )
                ]
            return []
        problems = report.problems(self.props.outputs)
        problems.extend(report.gate_problems(gated))
        if self.completion.mode == CompletionMode.NONE:
            problems.append(
                Problem(
                    "report",
                    report.output,
                    "with Completion.none() the deployment does not wait for the job, so "
                    "nothing reads its report: use Completion.wait() or wait_condition()",
                )
            )
        return problems

    def _grant(self, construct_id: str) -> None:
        """Tags, the execution role's grants, and the provider's rights on the job."""
        self.provider = self._core.provider
        self._tags, self._name_prefix = self._core.register(
            request=self.request,
            additional_request=self.props.additional_request,
            construct_id=construct_id,
            job_name=self.request.get("ProcessingJobName"),
            uses_vpc="VpcConfig" in (self.request.get("NetworkConfig") or {}),
            grant=self._grant_execution_role,
        )
        if self.props.report is not None:
            self._grant_report_read(self.props.report)

    def _grant_execution_role(self) -> None:
        """What the job's request names: the image, code, inputs, outputs, keys and
        network; and the stack's processing policy (log group, metrics, ECR token)."""
        props = self.props
        core = self._core
        policy = self.provider.processing_execution_policy
        if core.owned_role is not None:
            core.owned_role.attach_library_policy(policy)
        else:
            self.role.add_managed_policy(policy)
        principal = self.grant_principal
        image = self._image
        if image.repository_arn is not None:
            grant_repository_pull(principal, image.repository_arn)
        else:
            image.grant_pull(self)
        if self._code is not None:
            self._code.grant_read(self)
        for item in props.inputs:
            item.grant_read(self)
        for output in props.outputs:
            output.grant_write(self)
        if props.output_encryption_key is not None:
            props.output_encryption_key.grant_encrypt_decrypt(self)
        if props.vpc is not None:
            grant_network_interfaces(
                self,
                principal,
                vpc=props.vpc,
                subnet_ids=self._subnet_ids,
                security_groups=self._security_groups,
                owned_role=core.owned_role,
            )
        if props.volume_encryption_key is not None:
            grant_volume_key(principal, props.volume_encryption_key)

    def _grant_report_read(self, report: EvaluationReport) -> None:
        """The provider reads the report: exactly that file in each job's folder of its
        output, and decrypts it; it may list the output's prefix, so that S3 answers a
        missing report as missing (NoSuchKey), not as forbidden."""
        output = self._output(report.output, "report")
        location = output.location
        assert location is not None
        prefix = location.folder_prefix
        role = self.provider.role
        add_statement(
            role,
            actions=["s3:GetObject"],
            resources=[
                objects_arn(location.bucket, f"{prefix}*/{output.output_name}/{report.path}")
            ],
            reason="The provider reads a processing job's evaluation report, in the folder "
            "each job of the construct writes (named after the job): the wildcard is the "
            "job's name.",
        )
        allow_list_bucket(role, bucket_arn(location.bucket), prefix)
        key = bucket_key(location.bucket)
        if key is not None:
            key.grant_decrypt(role)
        if self.props.output_encryption_key is not None:
            self.props.output_encryption_key.grant_decrypt(role)

    def _create_resource(self, options: JobOptions) -> None:
        """The custom resource, its completion mode's wiring, the report and gate."""
        named = [
            location
            for index, output in enumerate(self.props.outputs)
            if (location := output.named_location(index)) is not None
        ]
        report = self.props.report
        self.resource: CustomResource = self._core.create_resource(
            self.request,
            name_prefix=self._name_prefix,
            timing=self._timing,
            wait_material=lambda: PROCESSING.without_in_place(self.request),
            rule=self._exact_rule,
            named_locations=dict(named),
            gate=options.quality_gate,
            # The gate's metrics were checked against the report's.
            emits_metrics=True,
            tags=self._tags,
            results_control=(
                {cr_props.REPORT: report.render()}
                if report is not None and self.completion.mode != CompletionMode.NONE
                else None
            ),
        )
        #: The wait condition of ``Completion.wait_condition()`` (else None).
        self.wait_condition: CfnWaitCondition | None = self._core.wait_condition
        #: The bounds the report's metrics must meet (``quality_gate``).
        self.quality_gate: tuple[MetricThreshold, ...] = tuple(options.quality_gate or ())

    # -- attributes ---------------------------------------------------------

    @property
    def tags(self) -> TagManager:
        """The job's tags (``ITaggable``), rendered into its request at synth."""
        return self._tags.manager

    @property
    def connections(self) -> ec2.Connections:
        """The job's security groups (``IConnectable``); none without a VPC."""
        return self._core.connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: grant it what your script needs."""
        return self._core.grant_principal

    @property
    def processing_job_name(self) -> str:
        """The job's name (the resource's physical id)."""
        return self._core.job_name

    @property
    def processing_job_arn(self) -> str:
        """The job's ARN (once it completed, unless the completion mode is none)."""
        return self._core.attribute("ProcessingJobArn")

    def _output(self, name: str, member: str) -> ProcessingOutput:
        for output in self.props.outputs:
            if output.output_name == name and output.location is not None:
                return output
        names = [o.output_name for o in self.props.outputs if o.location is not None]
        raise ValueError(
            f"[{self.node.path}] {member}: {name!r} is invalid: the job's S3 outputs are "
            f"{', '.join(names) or 'none'}"
        )

    def output_location(self, output_name: str) -> S3Location:
        """Where the output ``output_name`` of every job of this construct goes (its
        folders are under it): for grants."""
        location = self._output(output_name, "output_location").location
        assert location is not None
        return location

    def output_uri(self, output_name: str) -> str:
        """The S3 URI of what this job wrote to its output ``output_name`` (its own
        folder, ``<key prefix><job name>/<output name>``). A resource that reads it is
        created only after the job completed, unless the completion mode is none."""
        output = self._output(output_name, "output_uri")
        if self.completion.mode == CompletionMode.NONE:
            location = output.named_location(0)
            assert location is not None
            parts = location[1]
            return f"{parts['Prefix']}{self.processing_job_name}{parts['Suffix']}"
        return self._core.attribute(f"Output.{output_name}")

    @property
    def report_uri(self) -> str:
        """The S3 URI of the job's evaluation report (``report``), once it was read."""
        if self.props.report is None:
            raise ValueError(f"[{self.node.path}] report_uri: the job has no report")
        return self._core.attribute("ReportUri")

    def metric(self, name: str) -> str:
        """The value of the report's metric ``name`` as a token, once the job
        completed and its report was read."""
        report = self.props.report
        if report is None or name not in report.metrics:
            known = ", ".join(sorted(report.metrics)) if report is not None else "none (no report)"
            raise ValueError(
                f"[{self.node.path}] metric: {name!r} is invalid: the job's metrics are "
                f"its report's: {known}"
            )
        return self._core.attribute(f"Metric.{name}")
