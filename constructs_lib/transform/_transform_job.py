"""The TransformJob construct: a SageMaker batch transform job as a resource of the
stack, scoring a data set with a model of the stack, on the job core, the stack's
provider and the lifecycle of every job kind."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import (
    Annotations,
    CfnWaitCondition,
    CustomResource,
    Duration,
    ITaggable,
    Size,
    TagManager,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._shared.keywords import keywords
from .._shared.schema import load
from .._shared.schema.validate import Problem, Validator, is_unresolved
from .._shared.stacks import region_of, remember
from .._shared.typecheck import arguments as arguments_of
from .._shared.typecheck import check_props
from ..core._completion import Completion, CompletionMode
from ..core._events import OwnStateChanges
from ..core._grants import grant_volume_key
from ..core._job import JobCore
from ..core._options import JobOptions
from ..core._problems import raise_problems, superseding, tag_problems
from ..core._timing import Timing
from ..definition._config import ExperimentConfig
from ..definition._instance_type import InstanceType
from ..handler.kinds import TRANSFORM
from ..security import _nag
from ._io import BatchStrategy, DataProcessing, SplitType, TransformInput, TransformOutput
from ._model import BoundModel, bind_model
from ._request import (
    MAX_PAYLOAD_MB,
    TransformProps,
    render_transform_request,
    transform_props_for_path,
    transform_props_of,
)

STATE_CHANGE = TRANSFORM.detail_type
#: A model whose execution role the construct cannot grant (a ``CfnModel`` or a name
#: without ``model_role``).
MODEL_ROLE_WARNING_ID = "constructs-lib:transform-model-role"


@functools.cache
def _validator() -> Validator:
    """CreateTransformJob's validator, loaded with the first transform job."""
    return Validator(load("CreateTransformJob"))


@jsii.implements(ITaggable)
class TransformJob(OwnStateChanges, Construct):
    """A SageMaker batch transform job, created when the stack deploys: a model of the
    stack scores a data set, and the deployment waits for the predictions.

    The deployment fails at once when the transform fails (naming SageMaker's reason),
    and gives the predictions' S3 location (:attr:`output_uri`) to the rest of the
    stack. A change makes a new transform writing to a folder of its own, so a
    rollback keeps the previous predictions. SageMaker runs the transform as the
    model's execution role: it gets read on the input and write on the output.

    Example::

        TransformJob(self, "Score",
            model=model,  # a CfnModel (with model_role=), an alpha Model, or a name
            model_role=model_role,
            input=TransformInput.from_bucket(bucket, "test/", content_type="text/csv",
                                             split_type=SplitType.LINE),
            output=TransformOutput.to_bucket(bucket, "predictions/", accept="text/csv",
                                             assemble_with=AssembleWith.LINE),
        )
    """

    @keywords("TransformJob")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Any,
        input: TransformInput,
        output: TransformOutput,
        model_role: iam.IRole | None = None,
        instance_type: InstanceType | None = None,
        instance_count: int | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: Size | None = None,
        batch_strategy: BatchStrategy | None = None,
        environment: Mapping[str, str] | None = None,
        data_processing: DataProcessing | None = None,
        volume_encryption_key: kms.IKey | None = None,
        invocation_timeout: Duration | None = None,
        max_retries: int | None = None,
        experiment: ExperimentConfig | None = None,
        tags: Mapping[str, str] | None = None,
        transform_job_name: str | None = None,
        additional_request: Mapping[str, Any] | None = None,
        completion: Completion | None = None,
        max_quota_wait: Duration | None = None,
    ) -> None:
        """
        :param model: the model that scores: a ``CfnModel``, an ``aws_sagemaker_alpha``
            ``IModel``, or a model's name. The transform is created once the model
            exists (and so, for a model of the stack's training, once training
            completed).
        :param input: what to score (``TransformInput.from_bucket`` or
            ``from_processing_output``).
        :param output: where the predictions go, a folder per job
            (``TransformOutput.to_bucket``).
        :param model_role: the model's execution role, which SageMaker runs the
            transform as, for a ``CfnModel`` or a name (an alpha model brings its
            own): it gets read on the input and write on the output. Default: none (a
            synth warning: grant them yourself).
        :param instance_type: an instance type batch transform offers; default:
            ``ml.m5.xlarge``.
        :param instance_count: default: 1.
        :param max_concurrent_transforms: requests at once per instance; default:
            SageMaker's.
        :param max_payload: the largest request (0 to 100 MB); default: SageMaker's
            (6 MB).
        :param batch_strategy: ``MULTI_RECORD`` (needs the input's ``split_type``) or
            ``SINGLE_RECORD``; default: SageMaker's.
        :param environment: the model container's environment for the transform
            (at most 16); default: none.
        :param data_processing: the input and output filters, and the join with the
            input (``DataProcessing``); default: none.
        :param volume_encryption_key: KMS key of the instances' volumes; default: AWS
            managed encryption.
        :param invocation_timeout: how long each request to the model may take (1 s to
            1 h); default: SageMaker's (600 s).
        :param max_retries: retries of a failed request (0 to 3); default: SageMaker's.
        :param experiment: SageMaker Experiments association; default: none.
        :param tags: tags of the transform job; default: none.
        :param transform_job_name: a fixed name; default: a unique name generated at
            each creation. A fixed name prevents replacement.
        :param additional_request: merged into the rendered request last (objects
            member by member, ``None`` removes), validated like the rest; default: none.
        :param completion: what the deployment waits for: ``Completion.wait()`` (up to
            CloudFormation's hour), ``wait_condition()`` (the job's state-change event,
            up to 12 hours) or ``none()``. Default: ``Completion.wait()``.
        :param max_quota_wait: how long the transform may wait for a slot of a full
            quota; default: as long as what waits for it leaves room for.
        """
        super().__init__(scope, construct_id)
        args = arguments_of(locals())
        check_props(self, TransformJob.__init__, args)
        remember(self, scope, construct_id)
        options = JobOptions.of(args)
        with _nag.batch():
            #: What the job renders into its request: the props, captured once.
            self.props: TransformProps = transform_props_of(args)
            self._bind(options)
            self._render(options)
            self._check()
            self._grant(construct_id)
            self._create_resource()

    # -- the constructor's steps ---------------------------------------------

    def _bind(self, options: JobOptions) -> None:
        """The job core (no role of its own: the model's), the model."""
        self._core = JobCore(
            self,
            TRANSFORM,
            role=None,
            completion=options.completion,
            removal_policy=options.removal_policy,
            execution_role=False,
        )
        self.completion = self._core.completion
        self._model: BoundModel = bind_model(self, self.props.model, self.props.model_role)

    def _render(self, options: JobOptions) -> None:
        #: The rendered CreateTransformJob request (values may be CDK tokens).
        self.request: dict[str, Any] = render_transform_request(
            self.props, model_name=self._model.name
        )
        # A transform has no runtime limit: what waits for it bounds it.
        self._timing = Timing(
            self.completion, None, "TransformResources", max_quota_wait=options.max_quota_wait
        )

    def _check(self) -> None:
        request = {"TransformJobName": "generated-by-the-handler", **self.request}
        api = _validator().problems(request)
        raise_problems(self, superseding(api, self._library_problems()), transform_props_for_path)
        if self._model.role is None:
            Annotations.of(self).add_warning_v2(
                MODEL_ROLE_WARNING_ID,
                "SageMaker runs a transform as its model's execution role, which this "
                "construct does not know for a CfnModel or a model's name: give "
                "model_role=, or grant that role read on the input and write on the "
                "output yourself.",
            )

    def _library_problems(self) -> list[Problem]:
        problems = [*tag_problems(self.request), *self._timing.problems()]
        payload = self.request.get("MaxPayloadInMB")
        if isinstance(payload, int) and not is_unresolved(payload) and payload > MAX_PAYLOAD_MB:
            problems.append(Problem("MaxPayloadInMB", payload, f"must be 0 to {MAX_PAYLOAD_MB} MB"))
        split = (self.request.get("TransformInput") or {}).get("SplitType")
        if self.request.get("BatchStrategy") == BatchStrategy.MULTI_RECORD.value and split in (
            None,
            SplitType.NONE.value,
        ):
            problems.append(
                Problem(
                    "BatchStrategy",
                    BatchStrategy.MULTI_RECORD.value,
                    "MultiRecord batches the records an object splits into: give the "
                    "input a split_type (SplitType.LINE...), or use SINGLE_RECORD",
                )
            )
        resources = self.request.get("TransformResources") or {}
        count = resources.get("InstanceCount")
        if isinstance(count, int) and not is_unresolved(count) and count < 1:
            problems.append(
                Problem("TransformResources.InstanceCount", count, "must be at least 1")
            )
        here = region_of(self)
        model_region = self._model.region
        if model_region and here and not is_unresolved(here) and model_region != here:
            problems.append(
                Problem(
                    "ModelName",
                    model_region,
                    f"the model is in {model_region} and the transform in {here}: a "
                    "transform runs a model of its own region",
                )
            )
        return problems

    def _grant(self, construct_id: str) -> None:
        """Tags, the model role's grants, and the provider's rights on the job (no
        PassRole: the model carries its role)."""
        self.provider = self._core.provider
        self._tags, self._name_prefix = self._core.register(
            request=self.request,
            additional_request=self.props.additional_request,
            construct_id=construct_id,
            job_name=self.request.get("TransformJobName"),
            uses_vpc=False,
            grant=self._grant_model_role,
        )

    def _grant_model_role(self) -> None:
        """What the transform's data needs, granted to the model's execution role."""
        role = self._model.role
        if role is None:
            return
        self.props.input.grant_read(role)
        self.props.output.grant_write(role)
        if self.props.volume_encryption_key is not None:
            grant_volume_key(role.grant_principal, self.props.volume_encryption_key)

    def _create_resource(self) -> None:
        path, parts = self.props.output.named_location()
        self.resource: CustomResource = self._core.create_resource(
            self.request,
            name_prefix=self._name_prefix,
            timing=self._timing,
            wait_material=lambda: TRANSFORM.without_in_place(self.request),
            rule=self._exact_rule,
            named_locations={path: parts},
            tags=self._tags,
        )
        # The model's role and its grants must exist before the transform starts.
        role = self._model.role
        if isinstance(role, Construct):
            self.resource.node.add_dependency(role)
        #: The wait condition of ``Completion.wait_condition()`` (else None).
        self.wait_condition: CfnWaitCondition | None = self._core.wait_condition

    # -- attributes ---------------------------------------------------------

    @property
    def tags(self) -> TagManager:
        """The job's tags (``ITaggable``), rendered into its request at synth."""
        return self._tags.manager

    @property
    def transform_job_name(self) -> str:
        """The job's name (the resource's physical id)."""
        return self._core.job_name

    @property
    def transform_job_arn(self) -> str:
        """The job's ARN (once it completed, unless the completion mode is none)."""
        return self._core.attribute("TransformJobArn")

    @property
    def output_uri(self) -> str:
        """The S3 URI of this job's predictions (its own folder, ``<key prefix><job
        name>/``); a resource that reads it is created once the job completed, unless
        the completion mode is none."""
        if self.completion.mode == CompletionMode.NONE:
            _, parts = self.props.output.named_location()
            return f"{parts['Prefix']}{self.transform_job_name}{parts['Suffix']}"
        return self._core.attribute("OutputUri")
