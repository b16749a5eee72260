"""The HyperparameterTuningJob construct: a SageMaker hyperparameter tuning job as a
resource of the stack, on the job core it shares with TrainingJob."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Annotations, CfnWaitCondition, CustomResource, Duration, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import _nag, _script_mode, _serving
from ._job import (
    JobCore,
    derived_job_arn,
    raise_problems,
    state_change_rule,
    superseding,
    tag_problems,
    warn_about_secrets,
)
from ._mistakes import s3_prefix_problems
from ._schema import load
from ._schema.validate import Problem, Validator, cross_field_problems, is_unresolved
from ._timing import MAX_WAIT_CONDITION_RUNTIME, MAX_WAITED_RUNTIME, Timing
from .code import TrainingCode
from .completion import Completion, CompletionMode
from .config import Checkpoint, MetricDefinition, S3Location
from .data import InputMode, TrainingInput, TrainingOutput
from .distribution import Distribution
from .handler.kinds import TUNING
from .image import TrainingImage
from .instance_type import InstanceType
from .provider import TrainingJobProvider
from .request import TrainingJobProps, merge, props_for_path, render_request, render_tags
from .tuning_config import (
    HyperbandConfig,
    ParameterRange,
    TuningObjective,
    TuningStrategy,
    WarmStart,
    render_ranges,
)

OPERATION = "CreateHyperParameterTuningJob"
_SCHEMA = load(OPERATION)
_VALIDATOR = Validator(_SCHEMA)
#: Members of a tuning job's training definition and of its algorithm specification.
DEFINITION_MEMBERS = frozenset(_SCHEMA["shapes"]["HyperParameterTrainingJobDefinition"]["members"])
ALGORITHM_MEMBERS = frozenset(_SCHEMA["shapes"]["HyperParameterAlgorithmSpecification"]["members"])
#: SageMaker's limit of a tuning job's run (ResourceLimits.MaxRuntimeInSeconds).
MAX_TUNING_RUNTIME_SECONDS = int(
    _SCHEMA["shapes"]["HyperParameterTuningMaxRuntimeInSeconds"].get("max", 15768000)
)
#: The warning for a default max runtime its training jobs may outlast.
RUNTIME_WARNING_ID = "constructs-lib:tuning-runtime"
#: Training jobs a tuning job runs unless told (not for the grid strategy, whose
#: number is the number of combinations).
DEFAULT_MAX_JOBS = 10

_CONFIG = "HyperParameterTuningJobConfig"
#: The prop that sets each member of the tuning request outside the training definition.
_PROP_FOR_PATH = {
    "HyperParameterTuningJobName": "tuning_job_name",
    f"{_CONFIG}.Strategy": "strategy",
    f"{_CONFIG}.StrategyConfig": "hyperband",
    f"{_CONFIG}.HyperParameterTuningJobObjective": "objective",
    f"{_CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs": "max_jobs",
    f"{_CONFIG}.ResourceLimits.MaxParallelTrainingJobs": "max_parallel_jobs",
    f"{_CONFIG}.ResourceLimits.MaxRuntimeInSeconds": "max_runtime",
    f"{_CONFIG}.ParameterRanges": "ranges",
    f"{_CONFIG}.TrainingJobEarlyStoppingType": "early_stopping",
    f"{_CONFIG}.RandomSeed": "random_seed",
    f"{_CONFIG}.TuningJobCompletionCriteria.TargetObjectiveMetricValue": "target_objective_value",
    "WarmStartConfig": "warm_start",
    "Tags": "tags",
    "Autotune": "autotune",
    "completion": "completion",
    "max_quota_wait": "max_quota_wait",
}


def tuning_props_for_path(path: str) -> str:
    """The prop(s) that set the member at ``path`` of a CreateHyperParameterTuningJob
    request (``training.<prop>`` inside the training definition)."""
    plain = re.sub(r"\[[^\]]*\]", "", path)
    if plain.startswith("TrainingJobDefinition."):
        inner = plain.removeprefix("TrainingJobDefinition.")
        if inner.startswith("StaticHyperParameters"):
            inner = "HyperParameters" + inner.removeprefix("StaticHyperParameters")
        # Of the props that set the member in a TrainingJob, those a TrainingDefinition has.
        props = [prop for prop in props_for_path(inner).split(", ") if prop in _DEFINITION_PROPS]
        if not props:
            return "additional_request"
        return ", ".join(f"training.{prop}" for prop in props)
    parts = plain.split(".")
    for depth in range(len(parts), 0, -1):
        prop = _PROP_FOR_PATH.get(".".join(parts[:depth]))
        if prop:
            return prop
    return "additional_request"


#: Members of the tuning job's config listed member by member (some typed, some not).
_EXPANDED = ("ResourceLimits", "TuningJobCompletionCriteria")


def api_member_paths() -> list[str]:
    """Every member of a CreateHyperParameterTuningJob request, down to the members of
    its config and of its training definition: the rows of the README's table."""
    shapes = _SCHEMA["shapes"]
    paths: list[str] = []
    for member in shapes[_SCHEMA["root"]]["members"]:
        if member == _CONFIG:
            for child, shape in shapes[_CONFIG]["members"].items():
                if child in _EXPANDED:
                    paths.extend(f"{member}.{child}.{leaf}" for leaf in shapes[shape]["members"])
                else:
                    paths.append(f"{member}.{child}")
        elif member == "TrainingJobDefinition":
            definition = shapes["HyperParameterTrainingJobDefinition"]["members"]
            paths.extend(f"{member}.{child}" for child in definition)
        else:
            paths.append(member)
    return paths


class TrainingDefinition:
    """The training jobs a tuning job runs: what a :class:`TrainingJob` takes, with
    the same keyword names, for the members a tuning job's training definition has
    (``HyperParameterTrainingJobDefinition``). ``hyperparameters`` are the static
    ones; the tuning job adds those of its ranges.

    Each prop means what the same prop of ``TrainingJob`` means, with the same
    default; ``max_runtime`` bounds each training job.

    :param role: the execution role of the training jobs; default: a role created
        for the tuning job, with exactly the grants it needs.
    """

    def __init__(
        self,
        *,
        output: TrainingOutput,
        image: TrainingImage | None = None,
        inputs: Sequence[TrainingInput] = (),
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        input_mode: InputMode = InputMode.FILE,
        metric_definitions: Sequence[MetricDefinition] = (),
        instance_type: InstanceType | None = None,
        instance_count: int | None = None,
        volume_size: Size | None = None,
        volume_encryption_key: kms.IKey | None = None,
        max_runtime: Duration | None = None,
        max_wait: Duration | None = None,
        max_pending: Duration | None = None,
        spot_training: bool | None = None,
        checkpoint: Checkpoint | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        code: TrainingCode | None = None,
        distribution: Distribution | None = None,
        environment: Mapping[str, str] | None = None,
        network_isolation: bool | None = None,
        inter_container_traffic_encryption: bool | None = None,
        max_retry_attempts: int | None = None,
        role: iam.IRole | None = None,
    ) -> None:
        """
        :param output: where each training job writes its model (under
            ``<prefix><training job name>/``); required.
        :param image: the training container; required.
        :param inputs: input channels, 1 to 20; default: none.
        :param vpc: default: no VPC.
        :param vpc_subnets: default: the VPC's private subnets.
        :param security_groups: default: a security group created for the tuning job.
        :param input_mode: default: ``InputMode.FILE``.
        :param metric_definitions: metrics captured from the logs (the objective must
            be one of them, unless a built-in algorithm defines it); default: none.
        :param instance_type: default: ``ml.m5.xlarge``.
        :param instance_count: per training job; default: 1.
        :param volume_size: default: 10 GiB.
        :param volume_encryption_key: default: AWS managed encryption.
        :param max_runtime: of each training job; default: 45 minutes.
        :param max_wait: with ``spot_training``; default: none.
        :param max_pending: default: none.
        :param spot_training: default: off.
        :param checkpoint: default: none.
        :param hyperparameters: the static hyperparameters (not tuned); with ``code``,
            any JSON value, encoded as for a TrainingJob; default: none.
        :param code: your own training code on a framework image, as for a
            TrainingJob; the ranges' categorical values are then JSON-encoded too, as
            the SDK's tuner encodes them, so each training job's script receives the
            same types as a TrainingJob's; default: none.
        :param distribution: as for a TrainingJob; default: none.
        :param environment: default: none.
        :param network_isolation: default: off.
        :param inter_container_traffic_encryption: default: off.
        :param max_retry_attempts: default: none.
        :param role: default: a role created for the tuning job.
        """
        self.props = TrainingJobProps(
            image=image,
            output=output,
            inputs=tuple(inputs),
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=tuple(security_groups) if security_groups is not None else None,
            input_mode=input_mode,
            metric_definitions=tuple(metric_definitions),
            instance_type=instance_type,
            instance_count=instance_count,
            volume_size=volume_size,
            volume_encryption_key=volume_encryption_key,
            max_runtime=max_runtime,
            max_wait=max_wait,
            max_pending=max_pending,
            spot_training=spot_training,
            checkpoint=checkpoint,
            hyperparameters=hyperparameters,
            code=code,
            distribution=distribution,
            environment=environment,
            network_isolation=network_isolation,
            inter_container_traffic_encryption=inter_container_traffic_encryption,
            max_retry_attempts=max_retry_attempts,
        )
        self.role = role


#: The props of a TrainingDefinition.
_DEFINITION_PROPS = frozenset(inspect.signature(TrainingDefinition.__init__).parameters) - {"self"}


def render_definition(
    training_request: Mapping[str, Any],
) -> tuple[dict[str, Any], list[Problem]]:
    """A tuning job's ``TrainingJobDefinition`` from the CreateTrainingJob request the
    same props render, and the members that have no place in it."""
    definition: dict[str, Any] = {}
    problems: list[Problem] = []
    for member, value in training_request.items():
        if member == "HyperParameters":
            definition["StaticHyperParameters"] = value
        elif member == "AlgorithmSpecification" and isinstance(value, Mapping):
            definition[member] = {k: v for k, v in value.items() if k in ALGORITHM_MEMBERS}
            problems.extend(
                Problem(
                    f"TrainingJobDefinition.AlgorithmSpecification.{key}",
                    item,
                    "a tuning job's training definition has no such member "
                    "(HyperParameterAlgorithmSpecification has "
                    f"{', '.join(sorted(ALGORITHM_MEMBERS))})",
                )
                for key, item in value.items()
                if key not in ALGORITHM_MEMBERS
            )
        elif member in DEFINITION_MEMBERS:
            definition[member] = value
        else:
            problems.append(
                Problem(
                    f"TrainingJobDefinition.{member}",
                    value,
                    "a tuning job's training definition has no such member",
                )
            )
    return definition, problems


class IHyperparameterTuningJob(Construct):
    """A hyperparameter tuning job: one of this stack (:class:`HyperparameterTuningJob`)
    or an existing one (:meth:`HyperparameterTuningJob.from_tuning_job_name`)."""

    @property
    def tuning_job_name(self) -> str:
        """The tuning job's name."""
        raise NotImplementedError

    @property
    def tuning_job_arn(self) -> str:
        """The tuning job's ARN."""
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
        """An EventBridge rule for this tuning job's "SageMaker HyperParameter Tuning
        Job State Change" events (SageMaker may send one more than once).

        :param statuses: only these ``HyperParameterTuningJobStatus`` values;
            default: all.
        """
        return state_change_rule(
            self,
            construct_id,
            kind=TUNING,
            job_name=self.tuning_job_name,
            target=target,
            statuses=statuses,
            description=description,
            rule_name=rule_name,
        )

    def on_completed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the tuning job completing."""
        return self.on_state_change(construct_id, target=target, statuses=["Completed"])

    def on_failed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the tuning job ending without completing (``Failed`` or
        ``Stopped``)."""
        return self.on_state_change(construct_id, target=target, statuses=["Failed", "Stopped"])


class _ImportedTuningJob(IHyperparameterTuningJob):
    def __init__(self, scope: Construct, construct_id: str, *, name: str) -> None:
        super().__init__(scope, construct_id)
        self._name = name
        self._arn = derived_job_arn(self, TUNING, name)

    @property
    def tuning_job_name(self) -> str:
        return self._name

    @property
    def tuning_job_arn(self) -> str:
        return self._arn


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class HyperparameterTuningJob(IHyperparameterTuningJob, _serving.ServesTrainedModels):
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
        :param tags: tags of the tuning job (at most 47); default: none.
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
        """
        super().__init__(scope, construct_id)
        with _nag.batch():
            self.training = training
            self.objective = objective
            self.ranges = tuple(ranges)
            props = training.props
            self._core = JobCore(
                self,
                TUNING,
                role=training.role,
                completion=completion,
                removal_policy=removal_policy,
            )
            self.completion = self._core.completion
            self.role: iam.IRole = self._core.role
            bound = self._core.bind_definition(props, instances=props.instance_count or 1)
            self._image = bound.image
            self._connections = bound.connections
            #: The CreateTrainingJob request the training definition's props render
            #: (without name and tags): checked by TrainingJob's cross-field rules.
            self.training_request = render_request(
                props,
                role_arn=self.role.role_arn,
                default_runtime=MAX_WAITED_RUNTIME,
                image=bound.image,
                inputs=bound.inputs,
                vpc_config=bound.vpc_config,
                hyperparameters=bound.hyperparameters,
            )
            definition, definition_problems = render_definition(self.training_request)
            runtime_defaulted = max_runtime is None
            definition_problems.extend(
                map(_in_definition, [*bound.problems, *s3_prefix_problems(self.training_request)])
            )
            if max_runtime is None:
                max_runtime = {
                    CompletionMode.WAIT: MAX_WAITED_RUNTIME,
                    CompletionMode.WAIT_CONDITION: MAX_WAIT_CONDITION_RUNTIME,
                }.get(self.completion.mode)
            if max_jobs is None and strategy != TuningStrategy.GRID:
                max_jobs = DEFAULT_MAX_JOBS
            config = _pruned(
                {
                    "Strategy": strategy.value,
                    "StrategyConfig": hyperband.render() if hyperband else None,
                    "HyperParameterTuningJobObjective": objective.render(),
                    "ResourceLimits": _pruned(
                        {
                            "MaxNumberOfTrainingJobs": max_jobs,
                            "MaxParallelTrainingJobs": max_parallel_jobs,
                            "MaxRuntimeInSeconds": (
                                int(max_runtime.to_seconds()) if max_runtime else None
                            ),
                        }
                    ),
                    "ParameterRanges": (
                        render_ranges(self.ranges, json_values=props.code is not None) or None
                    ),
                    "TrainingJobEarlyStoppingType": (
                        None if early_stopping is None else ("Auto" if early_stopping else "Off")
                    ),
                    "RandomSeed": random_seed,
                    "TuningJobCompletionCriteria": (
                        None
                        if target_objective_value is None
                        else {"TargetObjectiveMetricValue": target_objective_value}
                    ),
                }
            )
            request = _pruned(
                {
                    "HyperParameterTuningJobName": tuning_job_name,
                    _CONFIG: config,
                    "TrainingJobDefinition": definition,
                    "WarmStartConfig": warm_start.render() if warm_start else None,
                    "Tags": render_tags(tags) if tags else None,
                    "Autotune": {"Mode": "Enabled"} if autotune else None,
                }
            )
            #: The rendered CreateHyperParameterTuningJob request (values may be tokens).
            self.request: dict[str, Any] = merge(request, additional_request or {})
            self._timing = Timing(
                self.completion,
                self._longest_run_seconds(),
                f"{_CONFIG}.ResourceLimits.MaxRuntimeInSeconds",
                max_run_seconds=MAX_TUNING_RUNTIME_SECONDS,
                max_quota_wait=max_quota_wait,
            )
            self._validate(definition_problems)
            # Both defaulted is no signal: 45 minutes is only a cap of each job.
            each_given = props.max_runtime is not None or props.max_wait is not None
            if runtime_defaulted and each_given:
                self._warn_if_runtime_cannot_fit()
            self._warn_about_secrets()
            self.provider: TrainingJobProvider = self._core.provider
            self._core.grant_definition(self, props, bound)
            self.provider.register_job(
                execution_role=self.role,
                job_name=self.request.get("HyperParameterTuningJobName"),
                uses_vpc="VpcConfig" in self.request.get("TrainingJobDefinition", {}),
                kind=TUNING,
            )
            self.resource: CustomResource = self._core.create_resource(
                self.request,
                name_prefix=self.provider.tuning_name_prefix_for(construct_id),
                timing=self._timing,
                wait_material=lambda: TUNING.without_in_place(self.request),
                rule=lambda rule_id, statuses: self.on_state_change(rule_id, statuses=statuses),
            )
            #: The wait condition of ``Completion.wait_condition()`` (else None).
            self.wait_condition: CfnWaitCondition | None = self._core.wait_condition

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
        return self._connections

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
        return self._completed_attribute("BestModelArtifacts", "best_model_data_url")

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
        return _serving.model_data(self, self.best_model_data_url, self.grant_read_model_artifacts)

    def _trained_model(self) -> _serving.TrainedModel:
        return _serving.TrainedModel(
            scope=self,
            spec=self._image.framework if self._image is not None else None,
            model_data_url=self.best_model_data_url,
            completion=self.completion,
            props=self.training.props,
            grant_read_model_artifacts=self.grant_read_model_artifacts,
        )

    def grant_read_model_artifacts(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (e.g. a model's execution role) read the artifacts of this
        tuning job's training jobs (objects under ``<output prefix><tuning job
        name>-``, where SageMaker names them), and decrypt them."""
        output = self.training.props.output
        location = S3Location(output.bucket, f"{output.key_prefix}{self.tuning_job_name}-")
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
        limits = self.request.get(_CONFIG, {}).get("ResourceLimits") or {}
        value = limits.get("MaxRuntimeInSeconds")
        if value is None or is_unresolved(value) or isinstance(value, bool):
            return None
        return float(value) if isinstance(value, int | float) else None

    def _warn_if_runtime_cannot_fit(self) -> None:
        """A default max_runtime (what the completion mode waits) that its training
        jobs, max_parallel_jobs at a time and each as long as the user said it may run,
        would outlast: the tuning job may stop before it ran most of them, at a limit
        nobody chose. A warning: the jobs may well end sooner."""
        limits = self.request.get(_CONFIG, {}).get("ResourceLimits") or {}
        total = limits.get("MaxNumberOfTrainingJobs")
        parallel = limits.get("MaxParallelTrainingJobs")
        runtime = limits.get("MaxRuntimeInSeconds")
        stopping = self.training_request.get("StoppingCondition") or {}
        spot = self.training_request.get("EnableManagedSpotTraining") is True
        each = stopping.get("MaxWaitTimeInSeconds" if spot else "MaxRuntimeInSeconds")
        values = [total, parallel, runtime, each]
        numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
        if len(numbers) < len(values):
            return
        total, parallel, runtime, each = numbers
        needed = -(-total // parallel) * each
        if needed <= runtime:
            return
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
        api = _VALIDATOR.problems(request)
        api.extend(map(_in_definition, cross_field_problems(self.training_request)))
        ours = [*definition_problems, *tuning_problems(self.request), *self._timing.problems()]
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


def _in_definition(problem: Problem) -> Problem:
    """A problem of the training definition (found on its CreateTrainingJob form) at
    its place in the tuning request."""
    path = problem.path
    if path.startswith("HyperParameters"):
        path = "Static" + path
    return Problem(f"TrainingJobDefinition.{path}", problem.value, problem.rule)


def _pruned(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or is_unresolved(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def tuning_problems(request: Mapping[str, Any]) -> list[Problem]:
    """The rules of a tuning request that its shapes cannot state, as the API
    documentation states them, and the library's own (tags)."""
    problems: list[Problem] = []
    config = request.get(_CONFIG)
    if not isinstance(config, Mapping):
        return problems
    strategy = config.get("Strategy")
    limits = config.get("ResourceLimits") or {}
    total, parallel = (
        _number(limits.get("MaxNumberOfTrainingJobs")),
        _number(limits.get("MaxParallelTrainingJobs")),
    )
    if total is not None and parallel is not None and parallel > total:
        problems.append(
            Problem(
                f"{_CONFIG}.ResourceLimits.MaxParallelTrainingJobs",
                int(parallel),
                f"must be at most MaxNumberOfTrainingJobs ({int(total)})",
            )
        )
    if config.get("StrategyConfig") is not None and strategy != "Hyperband":
        problems.append(
            Problem(
                f"{_CONFIG}.StrategyConfig",
                config["StrategyConfig"],
                "is only supported with the Hyperband strategy",
            )
        )
    if strategy == "Hyperband" and config.get("TrainingJobEarlyStoppingType") == "Auto":
        problems.append(
            Problem(
                f"{_CONFIG}.TrainingJobEarlyStoppingType",
                "Auto",
                "must be Off with the Hyperband strategy, which stops jobs early by itself",
            )
        )
    problems.extend(_range_problems(request, config, strategy))
    problems.extend(tag_problems(request))
    return problems


def _range_problems(
    request: Mapping[str, Any], config: Mapping[str, Any], strategy: Any
) -> list[Problem]:
    problems: list[Problem] = []
    ranges = config.get("ParameterRanges")
    definition = request.get("TrainingJobDefinition") or {}
    if not isinstance(ranges, Mapping) or is_unresolved(ranges):
        ranges = {}
    if not any(ranges.get(member) for member in ranges) and not request.get("Autotune"):
        problems.append(
            Problem(
                f"{_CONFIG}.ParameterRanges",
                None,
                "needs at least one range: a tuning job searches hyperparameters",
            )
        )
    static = definition.get("StaticHyperParameters") or {}
    seen: set[str] = set()
    for member, items in ranges.items():
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            path = f"{_CONFIG}.ParameterRanges.{member}[{index}]"
            name = item.get("Name")
            if isinstance(name, str) and not is_unresolved(name):
                if name in seen:
                    problems.append(Problem(f"{path}.Name", name, "is searched by another range"))
                seen.add(name)
                if isinstance(static, Mapping) and name in static:
                    problems.append(
                        Problem(
                            f"{path}.Name",
                            name,
                            "is also a static hyperparameter: a hyperparameter is either "
                            "tuned or static",
                        )
                    )
            if strategy == "Grid" and member != "CategoricalParameterRanges":
                problems.append(
                    Problem(
                        path, item.get("Name"), "the Grid strategy searches categorical ranges only"
                    )
                )
            if member != "CategoricalParameterRanges":
                problems.extend(_numeric_range_problems(path, member, item))
    objective = (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")
    algorithm = definition.get("AlgorithmSpecification") or {}
    metrics = algorithm.get("MetricDefinitions")
    if isinstance(objective, str) and not is_unresolved(objective) and isinstance(metrics, list):
        names = [m.get("Name") for m in metrics if isinstance(m, Mapping)]
        if names and objective not in names and not any(is_unresolved(n) for n in names):
            problems.append(
                Problem(
                    f"{_CONFIG}.HyperParameterTuningJobObjective.MetricName",
                    objective,
                    "is not among the training definition's metric definitions "
                    f"({', '.join(map(str, names))})",
                )
            )
    return problems


def _numeric_range_problems(path: str, member: str, item: Mapping[str, Any]) -> list[Problem]:
    low, high = _number(item.get("MinValue")), _number(item.get("MaxValue"))
    if low is None or high is None:
        text = item.get("MinValue") if low is None else item.get("MaxValue")
        if is_unresolved(text):
            return []
        bound = "MinValue" if low is None else "MaxValue"
        return [Problem(f"{path}.{bound}", text, "must be a number")]
    problems: list[Problem] = []
    if member == "IntegerParameterRanges":
        for bound, value in (("MinValue", low), ("MaxValue", high)):
            if not value.is_integer():
                problems.append(Problem(f"{path}.{bound}", item.get(bound), "must be an integer"))
    if low >= high:
        problems.append(
            Problem(
                f"{path}.MaxValue",
                item.get("MaxValue"),
                f"must be greater than MinValue ({item.get('MinValue')})",
            )
        )
    scaling = item.get("ScalingType")
    if scaling == "Logarithmic" and low <= 0:
        problems.append(
            Problem(
                f"{path}.MinValue",
                item.get("MinValue"),
                "must be greater than 0 with Logarithmic scaling",
            )
        )
    if scaling == "ReverseLogarithmic":
        if member == "IntegerParameterRanges":
            problems.append(
                Problem(
                    f"{path}.ScalingType",
                    scaling,
                    "ReverseLogarithmic applies to continuous ranges only",
                )
            )
        elif low < 0 or high >= 1:
            problems.append(
                Problem(
                    f"{path}.MaxValue" if high >= 1 else f"{path}.MinValue",
                    item.get("MaxValue") if high >= 1 else item.get("MinValue"),
                    "ReverseLogarithmic scaling needs a range within [0, 1)",
                )
            )
    return problems
