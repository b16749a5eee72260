"""The HyperparameterTuningJob construct: a SageMaker hyperparameter tuning job as a
resource of the stack, on the job core it shares with TrainingJob."""

from __future__ import annotations

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
    TagManager,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._shared.keywords import keywords
from .._shared.remembered import role_arn
from .._shared.schema.validate import Problem, cross_field_problems
from .._shared.stacks import in_its_region, remember
from .._shared.typecheck import arguments, check_props
from ..core._completion import Completion, CompletionMode
from ..core._job import JobCore
from ..core._options import JobOptions
from ..core._problems import raise_problems, superseding
from ..core._quality_gate import MetricThreshold
from ..core._timing import MAX_WAITED_RUNTIME, Timing
from ..definition import _script_mode
from ..definition._config import S3Location
from ..definition._mistakes import s3_prefix_problems
from ..definition._request import render_request
from ..definition._secrets import warn_about_secrets
from ..handler.kinds import TUNING
from ..provider import TrainingJobProvider
from ..queueing._queue import ITrainingQueue
from ..queueing._queueing import refuse_queue
from ..schedule._parts import ScheduleParts
from ..schedule._scheduling import RetrainsOnSchedule
from ..security import _nag
from ..serving import _alpha, _serving
from ..serving._registering import RegistersModels
from ..training import TrainingJob
from ._base import IHyperparameterTuningJob, _ImportedTuningJob
from ._config import (
    HyperbandConfig,
    ParameterRange,
    TuningObjective,
    TuningStrategy,
    WarmStart,
    categorical_problems,
)
from ._definition import TrainingDefinition, in_definition, render_definition
from ._request import (
    CONFIG,
    MAX_TUNING_RUNTIME_SECONDS,
    VALIDATOR,
    TuningProps,
    longest_run_seconds,
    render_tuning_request,
    runtime_shortfall,
    tuning_problems,
    tuning_props_for_path,
)

#: The warning for a default max runtime its training jobs may outlast.
RUNTIME_WARNING_ID = "constructs-lib:tuning-runtime"

__all__ = [
    "RUNTIME_WARNING_ID",
    "HyperparameterTuningJob",
    "IHyperparameterTuningJob",
    "TrainingDefinition",
]


@jsii.implements(iam.IGrantable, ec2.IConnectable, ITaggable)
class HyperparameterTuningJob(
    IHyperparameterTuningJob, _serving.ServesTrainedModels, RegistersModels, RetrainsOnSchedule
):
    """A SageMaker hyperparameter tuning job, created when the stack deploys.

    It runs up to ``max_jobs`` training jobs of ``training`` with hyperparameters
    picked from ``ranges``, and picks the best by ``objective``. The deployment waits
    for it like for a :class:`TrainingJob` (same completion modes), fails when it
    fails, and exposes the best training job's model as :attr:`best_model_data_url`.
    Every member of the CreateHyperParameterTuningJob request can be set: through the
    typed props, or ``additional_request``; the whole request is validated at synth.

    Example::

        tuning = HyperparameterTuningJob(self, "Tuning",
            training=TrainingDefinition(
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                inputs=[TrainingInput.from_bucket("train", bucket, "train/"),
                        TrainingInput.from_bucket("validation", bucket, "validation/")],
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                hyperparameters={"objective": "reg:squarederror", "num_round": "50"},
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[ContinuousRange("eta", 0.05, 0.5), IntegerRange("max_depth", 2, 8)],
            max_jobs=8, max_parallel_jobs=2,
        )
    """

    @keywords("HyperparameterTuningJob")
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        training: TrainingDefinition,
        objective: TuningObjective,
        ranges: Sequence[ParameterRange],
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime: Duration | None = None,
        strategy: TuningStrategy = TuningStrategy.BAYESIAN,
        hyperband: HyperbandConfig | None = None,
        early_stopping: bool | None = None,
        random_seed: int | None = None,
        target_objective_value: float | None = None,
        warm_start: WarmStart | None = None,
        autotune: bool | None = None,
        tags: Mapping[str, str] | None = None,
        tuning_job_name: str | None = None,
        additional_request: Mapping[str, Any] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        completion: Completion | None = None,
        max_quota_wait: Duration | None = None,
        queue: ITrainingQueue | None = None,
        quality_gate: Sequence[MetricThreshold] | None = None,
    ) -> None:
        """
        :param training: the training jobs it runs; required.
        :param objective: the metric to minimize or maximize; required.
        :param ranges: the hyperparameters searched (at least one; names unique and
            not among the static hyperparameters); required.
        :param max_jobs: training jobs in all; default: 10 (none for the grid
            strategy, which runs every combination).
        :param max_parallel_jobs: training jobs at once; default: 1.
        :param max_runtime: after this long SageMaker stops the tuning job. What waits
            bounds it as for a TrainingJob: at most 45 minutes with
            ``Completion.wait()`` (the default, and the default value), 11 h 45 min
            with ``Completion.wait_condition()`` (the default value there); with
            ``Completion.none()`` default: SageMaker's.
        :param strategy: default: ``TuningStrategy.BAYESIAN``.
        :param hyperband: with ``TuningStrategy.HYPERBAND`` only; default: none.
        :param early_stopping: stop training jobs unlikely to beat the best
            (``Auto``); default: SageMaker's (off). Must be off with Hyperband.
        :param random_seed: for reproducible picks; default: none.
        :param target_objective_value: stop once a training job reaches this value;
            default: none.
        :param warm_start: start from earlier tuning jobs; default: none.
        :param autotune: let SageMaker choose the strategy, limits and ranges it is
            not given; default: off.
        :param tags: tags of the tuning job (at most 46); default: none.
        :param tuning_job_name: a fixed name (at most 32 characters); default: a
            unique name generated at each creation. A fixed name prevents
            replacement.
        :param additional_request: merged into the rendered request last (objects
            merge, lists and scalars replace, ``None`` removes); validated like the
            rest. Default: none.
        :param removal_policy: ``RETAIN`` keeps the tuning job's record on delete,
            ``DESTROY`` deletes it once it stopped. Model artifacts in S3 are never
            deleted. Default: ``RETAIN``.
        :param completion: what the deployment waits for, as for a TrainingJob
            (events: "SageMaker HyperParameter Tuning Job State Change"). Default:
            ``Completion.wait()``.
        :param max_quota_wait: how long the tuning job may wait for a slot of a full
            quota (concurrent tuning jobs, instances) that other jobs use, as for a
            TrainingJob. Default: what its completion mode leaves room for.
        :param queue: not supported: AWS Batch queues training jobs only (service
            job type ``SAGEMAKER_TRAINING``); given, synth fails saying so. Default: none.
        :param quality_gate: bounds the best training job's final metrics must meet
            before the stack uses its model, as for a TrainingJob; each metric one the
            training definition reports. Default: none.
        """
        super().__init__(scope, construct_id)
        args = arguments(locals())
        check_props(self, HyperparameterTuningJob.__init__, args)
        remember(self, scope, construct_id)
        refuse_queue(self, queue)
        options = JobOptions.of(args, role=training.role)
        with _nag.batch():
            self.training = training
            #: What the job renders beside its training definition, captured once.
            self._props = TuningProps.of(args)
            self.objective = objective
            self.ranges = self._props.ranges
            self._bind(options)
            self._render(options)
            self._check()
            self._grant(construct_id)
            self._create_resource(options)

    # -- the constructor's steps ---------------------------------------------

    def _bind(self, options: JobOptions) -> None:
        """The job core (role, completion) and what the training definition names
        (image, channels, code, network)."""
        props = self.training.props
        self._core = JobCore(
            self,
            TUNING,
            role=options.role,
            completion=options.completion,
            removal_policy=options.removal_policy,
        )
        self.completion = self._core.completion
        self.role: iam.IRole = self._core.role
        self._bound = bound = self._core.bind_definition(props, instances=props.instance_count or 1)
        self._image = bound.image
        #: Hyperparameters the handler fills in from the job's name.
        self._by_job_name = bound.by_job_name
        self._named_locations = bound.named_locations

    def _render(self, options: JobOptions) -> None:
        """The training definition's CreateTrainingJob request, the
        CreateHyperParameterTuningJob request around it, and how long the deployment
        waits."""
        bound = self._bound
        #: The CreateTrainingJob request the training definition's props render
        #: (without name and tags): checked by TrainingJob's cross-field rules.
        self.training_request = render_request(
            self.training.props,
            role_arn=role_arn(self.role),
            default_runtime=MAX_WAITED_RUNTIME,
            image=bound.image,
            inputs=bound.inputs,
            vpc_config=bound.vpc_config,
            hyperparameters=bound.hyperparameters,
            tuned=True,
        )
        definition, self._definition_problems = render_definition(self.training_request)
        self._definition_problems.extend(
            map(in_definition, [*bound.problems, *s3_prefix_problems(self.training_request)])
        )
        #: The rendered CreateHyperParameterTuningJob request (values may be tokens).
        self.request: dict[str, Any] = render_tuning_request(
            self._props,
            definition,
            json_values=self.training.props.code is not None,
            mode=self.completion.mode,
        )
        self._timing = Timing(
            self.completion,
            self._longest_run_seconds(),
            f"{CONFIG}.ResourceLimits.MaxRuntimeInSeconds",
            max_run_seconds=MAX_TUNING_RUNTIME_SECONDS,
            max_quota_wait=options.max_quota_wait,
        )

    def _check(self) -> None:
        """The request against the API's model and the library's rules (errors), and
        what is legal but likely a mistake (warnings)."""
        self._validate(self._definition_problems)
        # Both defaulted is no signal: 45 minutes is only a cap of each job.
        props = self.training.props
        each_given = props.max_runtime is not None or props.max_wait is not None
        if self._props.max_runtime is None and each_given:
            self._warn_if_runtime_cannot_fit()
        self._warn_about_secrets()

    def _grant(self, construct_id: str) -> None:
        """Tags, the execution role's grants, and the provider's rights on the job
        (the provider found or made now: a job that fails its checks leaves none)."""
        self.provider: TrainingJobProvider = self._core.provider
        self._tags, self._name_prefix = self._core.grant_and_register(
            self,
            self.training.props,
            self._bound,
            request=self.request,
            additional_request=self._props.additional_request,
            construct_id=construct_id,
            job_name=self.request.get("HyperParameterTuningJobName"),
            uses_vpc="VpcConfig" in self.request.get("TrainingJobDefinition", {}),
        )

    def _create_resource(self, options: JobOptions) -> None:
        """The custom resource (and the completion mode's wiring), gated by the
        quality gate on the best training job's metrics."""
        bound = self._bound
        tuned = {parameter.name for parameter in self.ranges}
        self.resource: CustomResource = self._core.create_resource(
            self.request,
            name_prefix=self._name_prefix,
            timing=self._timing,
            wait_material=lambda: TUNING.without_in_place(self.request),
            rule=self._exact_rule,
            # A tuned model_dir is the tuning job's choice, not the name's.
            by_job_name={k: v for k, v in bound.by_job_name.items() if k not in tuned},
            named_locations=bound.named_locations,
            gate=options.quality_gate,
            gate_definition=self.request.get("TrainingJobDefinition") or {},
            emits_metrics=bool(bound.image and bound.image.emits_metrics),
            tags=self._tags,
        )
        #: The wait condition of ``Completion.wait_condition()`` (else None).
        self.wait_condition: CfnWaitCondition | None = self._core.wait_condition
        #: The bounds the best model's final metrics must meet (``quality_gate``).
        self.quality_gate: tuple[MetricThreshold, ...] = tuple(options.quality_gate or ())

    # -- imports ------------------------------------------------------------

    @staticmethod
    def from_tuning_job_name(
        scope: Construct, construct_id: str, name: str
    ) -> IHyperparameterTuningJob:
        """An existing tuning job, by name (its ARN is derived): e.g. a warm start's
        parent, or a rule on its state changes."""
        return _ImportedTuningJob(scope, construct_id, name=name)

    # -- attributes ---------------------------------------------------------

    @property
    def connections(self) -> ec2.Connections:
        """The training jobs' security groups (``IConnectable``); none without a VPC."""
        return self._core.connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The training jobs' execution role: grant it what your training code needs."""
        return self._core.grant_principal

    @property
    def tuning_job_name(self) -> str:
        """The tuning job's name (the resource's physical id)."""
        return self._core.job_name

    @property
    def tuning_job_arn(self) -> str:
        """The tuning job's ARN."""
        return self._core.attribute("HyperParameterTuningJobArn")

    @property
    def best_training_job_name(self) -> str:
        """The name of the training job with the best objective value."""
        return self._completed_attribute("BestTrainingJobName", "best_training_job_name")

    @property
    def best_model_data_url(self) -> str:
        """S3 URI of the best training job's model artifacts (``model.tar.gz``); a
        resource that reads it is created only after the tuning job completed."""
        return in_its_region(
            self,
            self._completed_attribute("BestModelArtifacts", "best_model_data_url"),
            "best_model_data_url",
        )

    @property
    def best_objective_value(self) -> str:
        """The best training job's final objective value (a number, as a string)."""
        return self._completed_attribute("BestObjectiveValue", "best_objective_value")

    def best_hyperparameter(self, name: str) -> str:
        """The value of tuned hyperparameter ``name`` in the best training job (those
        beyond the custom resource's 4 KB response are not available; the deploy then
        fails naming the missing attribute)."""
        return self._completed_attribute(f"BestHyperParameter.{name}", "best_hyperparameter")

    @property
    def training_image_uri(self) -> str:
        """The URI of the image the training jobs run (resolved for the stack's region
        for a built-in algorithm), e.g. for the ``CfnModel`` that serves the best model."""
        if self._image is None or self._image.image_uri is None:
            raise ValueError(
                f"[{self.node.path}] training_image_uri: the training definition runs no "
                "image of its own (an algorithm resource)"
            )
        return self._image.image_uri

    @property
    def best_model_data(self) -> Any:
        """The best training job's model as an ``aws_cdk.aws_sagemaker_alpha.ModelData``
        (binding it grants the model's role read on the tuning job's artifacts). Needs
        the optional package ``aws-cdk.aws-sagemaker-alpha``."""
        return _alpha.model_data(self, self.best_model_data_url, self.grant_read_model_artifacts)

    def _schedule_parts(self) -> ScheduleParts:
        return ScheduleParts(
            kind=TUNING,
            request=self.request,
            prefix=self.request.get("HyperParameterTuningJobName") or self._name_prefix,
            role=self.role,
            by_job_name=dict(self._by_job_name),
            named_locations=dict(self._named_locations),
            longest_run=self._longest_run_seconds(),
        )

    @property
    def best_training_job_arn(self) -> str:
        """The ARN of the training job with the best objective value."""
        return self._completed_attribute("BestTrainingJobArn", "best_training_job_arn")

    def _registration_metadata(self) -> dict[str, str]:
        """What a registered version says of the tuning job: its ARN, its best training
        job's and the best objective value."""
        return {
            "TuningJobArn": self.tuning_job_arn,
            "BestTrainingJobArn": self.best_training_job_arn,
            "BestObjectiveMetric": self._completed_attribute(
                "BestObjectiveMetric", "register_model"
            ),
            "BestObjectiveValue": self.best_objective_value,
        }

    def _trained_model(self) -> _serving.TrainedModel:
        return _serving.TrainedModel(
            scope=self,
            spec=self._image.framework if self._image is not None else None,
            model_data_url=self.best_model_data_url,
            completion=self.completion,
            props=self.training.props,
            grant_read_model_artifacts=self.grant_read_model_artifacts,
            training_job=TrainingJob,
            image=self._image,
        )

    @property
    def tags(self) -> TagManager:
        """The tuning job's tags (``ITaggable``), which its training jobs get too: its
        own (``tags``) and what ``Tags.of(scope).add(...)`` adds, rendered into its
        request at synth."""
        return self._tags.manager

    def grant_read_model_artifacts(
        self, grantee: iam.IGrantable, *, every_job: bool = False
    ) -> None:
        """Let ``grantee`` (e.g. a model's execution role) read the artifacts of this
        tuning job's training jobs (objects under ``<output prefix><tuning job
        name>-``, where SageMaker names them), and decrypt them.

        :param every_job: those of every tuning job of this construct (the objects
            under the output prefix), without naming this one: for the role of another
            job the stack's provider starts. Default: this tuning job's only.
        """
        output = self.training.props.output
        folder = "" if every_job else f"{self.tuning_job_name}-"
        location = S3Location(output.bucket, f"{output.key_prefix}{folder}")
        location.grant_get(grantee)
        if output.encryption_key is not None:
            output.encryption_key.grant_decrypt(grantee)

    # -- internals ----------------------------------------------------------

    def _completed_attribute(self, attribute: str, member: str) -> str:
        if self.completion.mode == CompletionMode.NONE:
            raise ValueError(
                f"[{self.node.path}] {member}: not available with Completion.none(): the "
                "deployment does not wait for the tuning job to pick its best training job"
            )
        return self._core.attribute(attribute)

    def _longest_run_seconds(self) -> float | None:
        return longest_run_seconds(self.request)

    def _warn_if_runtime_cannot_fit(self) -> None:
        """A default max_runtime (what the completion mode waits) that its training
        jobs may outlast: the tuning job may stop before it ran most of them, at a
        limit nobody chose. A warning: the jobs may well end sooner."""
        shortfall = runtime_shortfall(self.request, self.training_request)
        if shortfall is None:
            return
        total, parallel, each, needed, runtime = shortfall
        Annotations.of(self).add_warning_v2(
            RUNTIME_WARNING_ID,
            f"max_runtime: the default ({runtime} s, what {self.completion.mode.name} "
            f"waits) cannot fit the training jobs: {total} jobs, {parallel} at a time, up "
            f"to {each} s each, may need {needed} s, and SageMaker stops the tuning job at "
            "its max runtime. Set max_runtime (with completion=Completion.wait_condition() "
            "up to 11 h 45 min), more max_parallel_jobs or fewer max_jobs.",
        )

    def _wait_key(self) -> str:
        """Identifies the tuning job's wait condition (see ``JobCore.wait_key``)."""
        return self._core.wait_key(TUNING.without_in_place(self.request), self._timing)

    def _validate(self, definition_problems: list[Problem]) -> None:
        # Without a fixed name the handler generates a valid one at creation.
        request = {"HyperParameterTuningJobName": "generated-by-handler", **self.request}
        api = VALIDATOR.problems(request)
        api.extend(map(in_definition, cross_field_problems(self.training_request)))
        ours = [
            *definition_problems,
            *categorical_problems(self.ranges),
            *tuning_problems(self.request),
            *self._timing.problems(),
        ]
        raise_problems(self, superseding(api, ours), tuning_props_for_path)

    def _warn_about_secrets(self) -> None:
        definition = self.request.get("TrainingJobDefinition") or {}
        warn_about_secrets(
            self,
            [
                (
                    _script_mode.users_own(
                        definition.get("StaticHyperParameters"),
                        self.training.props.hyperparameters,
                    ),
                    "training.hyperparameters",
                ),
                (definition.get("Environment"), "training.environment"),
            ],
        )
