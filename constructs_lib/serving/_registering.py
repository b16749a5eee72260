"""``job.register_model(...)`` of the job constructs: what the job classes import,
light, so that an app that registers nothing imports neither the registry
(``_registry.py``) nor ``aws_sagemaker``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from constructs import Construct

from .._shared.keywords import keywords
from .._shared.typecheck import arguments, check_props
from ..core._completion import CompletionMode
from ..definition._instance_type import InstanceType
from ._approval import ModelApproval

if TYPE_CHECKING:
    from aws_cdk import aws_sagemaker as sagemaker

    from ._registry import IModelPackageGroup, RegisteredModel
    from ._serving import TrainedModel


class RegistersModels:
    """``register_model`` of a job construct (training or tuning), from what
    :meth:`_trained_model` says it trained and :meth:`_registration_metadata` says of
    it."""

    def _trained_model(self) -> TrainedModel:
        raise NotImplementedError

    def _registration_metadata(self) -> dict[str, str]:
        raise NotImplementedError

    @keywords("register_model")
    def register_model(
        self,
        group: IModelPackageGroup,
        *,
        container: sagemaker.CfnModel.ContainerDefinitionProperty | None = None,
        approval: ModelApproval = ModelApproval.PENDING_MANUAL_APPROVAL,
        inference_instance_types: Sequence[InstanceType | str] | None = None,
        content_types: Sequence[str] | None = None,
        response_types: Sequence[str] | None = None,
        description: str | None = None,
        evaluation: Any = None,
    ) -> RegisteredModel:
        """Register the trained model (a tuning job's best) as a version in ``group``,
        created once the job completed and its quality gate passed; each retraining
        registers a new version, and the earlier ones stay. The version carries the
        job's ARN and its gated metrics' final values as customer metadata.

        :param group: a ``ModelPackageGroup`` (or one imported).
        :param container: what serves the model: ``job.inference_container(...)`` for
            a job on a framework image (required there); default: the training image
            serving the artifacts (a built-in algorithm, an image of your own).
        :param approval: the version's status; it changes in place (a deploy that
            approves a version trains nothing). Default: pending manual approval.
        :param inference_instance_types: the real-time instance types it supports;
            default: none listed.
        :param content_types: the request MIME types (``text/csv``...); default: none
            listed.
        :param response_types: the response MIME types; default: none listed.
        :param description: default: none.
        :param evaluation: a ``ProcessingJob`` that evaluated this model and has a
            ``report``: the version is created once that job completed and its quality
            gate passed, and carries the report as its model quality statistics
            (``ModelMetrics.ModelQuality.Statistics``, ``application/json``), as the
            SDK's ``ModelMetrics(model_statistics=MetricsSource(...))`` does, plus the
            evaluation's ARN and gated metrics as customer metadata. Default: none.
        """
        scope = cast(Construct, self)
        check_props(
            scope, RegistersModels.register_model, arguments(locals()), method="register_model"
        )
        trained = self._trained_model()
        if trained.completion.mode == CompletionMode.NONE:
            raise ValueError(
                f"[{scope.node.path}] register_model: with Completion.none() the deployment "
                "does not wait for the job, so there is no model to register yet: use "
                "Completion.wait() or Completion.wait_condition()"
            )
        where = cast(Construct, group).node.path if isinstance(group, Construct) else str(group)
        construct_id = "ModelPackage" + hashlib.sha256(where.encode()).hexdigest()[:8]
        if scope.node.try_find_child(construct_id) is not None:
            raise ValueError(
                f"[{scope.node.path}] register_model: the job already registers its model in "
                f"{group.model_package_group_name}: one version per job and group"
            )
        metadata = self._registration_metadata()
        statistics = None
        if evaluation is not None:
            statistics, evaluated = _evaluation(scope, evaluation)
            metadata = {**metadata, **evaluated}
        from ._registry import RegisteredModel  # noqa: PLC0415 - loaded when used

        return RegisteredModel(
            scope,
            construct_id,
            trained=trained,
            group=group,
            container=container,
            approval=approval,
            inference_instance_types=inference_instance_types,
            content_types=content_types,
            response_types=response_types,
            description=description,
            metadata=metadata,
            statistics=statistics,
        )


def _evaluation(scope: Construct, evaluation: Any) -> tuple[str, dict[str, str]]:
    """The report of ``evaluation`` (a processing job's S3 URI) and what the version
    says of it: the job's ARN and the values of the metrics its gate bounds."""
    report = getattr(getattr(evaluation, "props", None), "report", None)
    completion = getattr(evaluation, "completion", None)
    path = evaluation.node.path if isinstance(evaluation, Construct) else repr(evaluation)
    if report is None or completion is None:
        raise ValueError(
            f"[{scope.node.path}] register_model: evaluation {path} is invalid: it must be "
            "a ProcessingJob with a report (EvaluationReport), whose metrics the version "
            "carries"
        )
    if completion.mode == CompletionMode.NONE:
        raise ValueError(
            f"[{scope.node.path}] register_model: evaluation {path} is invalid: with "
            "Completion.none() the deployment does not wait for its report"
        )
    metadata = {"EvaluationJobArn": str(evaluation.processing_job_arn)}
    for threshold in evaluation.quality_gate:
        metadata[f"Evaluation.{threshold.metric}"] = str(evaluation.metric(threshold.metric))
    return str(evaluation.report_uri), metadata
