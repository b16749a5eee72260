"""A tuning job's training definition: the props of the training jobs it runs (those
of a TrainingJob that a ``HyperParameterTrainingJobDefinition`` has), rendered from
the CreateTrainingJob request the same props render."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from .._shared.keywords import keywords
from .._shared.schema import load
from .._shared.schema.validate import Problem
from .._shared.typecheck import arguments, check_props
from ..definition._code import TrainingCode
from ..definition._config import Checkpoint, MetricDefinition
from ..definition._data import InputMode, TrainingInput, TrainingOutput
from ..definition._distribution import Distribution
from ..definition._image import TrainingImage
from ..definition._instance_type import InstanceType
from ..definition._request import TrainingJobProps

_SHAPES = load("CreateHyperParameterTuningJob")["shapes"]
#: Members of a tuning job's training definition and of its algorithm specification.
DEFINITION_MEMBERS = frozenset(_SHAPES["HyperParameterTrainingJobDefinition"]["members"])
ALGORITHM_MEMBERS = frozenset(_SHAPES["HyperParameterAlgorithmSpecification"]["members"])


#: TrainingJob's props a tuning job's training definition does not take, and why.
NOT_IN_A_DEFINITION = {
    "keep_alive": "a warm pool keeps a training job's instances for a later job that asks "
    "for them, and the library offers none to a tuning job's training jobs (set keep_alive "
    "on a TrainingJob)",
    "training_job_name": "the tuning job names its training jobs '<tuning job name>-<number>"
    "-<hash>' (name the tuning job: HyperparameterTuningJob(tuning_job_name=...))",
    "queue": "a tuning job runs its training jobs itself: queue no tuning job",
    "completion": "the tuning job's completion says what the deploy waits for "
    "(HyperparameterTuningJob(completion=...))",
    "quality_gate": "the tuning job's quality gate judges its best training job "
    "(HyperparameterTuningJob(quality_gate=...))",
}


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

    @keywords("TrainingDefinition", refused=NOT_IN_A_DEFINITION)
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
        :param volume_size: default: 30 GiB, the SDK's default.
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
        check_props("TrainingDefinition", TrainingDefinition.__init__, arguments(locals()))
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
DEFINITION_PROPS = frozenset(inspect.signature(TrainingDefinition.__init__).parameters) - {"self"}


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


def in_definition(problem: Problem) -> Problem:
    """A problem of the training definition (found on its CreateTrainingJob form) at
    its place in the tuning request."""
    path = problem.path
    if path.startswith("HyperParameters"):
        path = "Static" + path
    return Problem(f"TrainingJobDefinition.{path}", problem.value, problem.rule)
