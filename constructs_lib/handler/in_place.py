"""Updates in place: tags, and the members UpdateTrainingJob can still change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .kinds import JobKind

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import TagTypeDef
from .calls import _call, _describe, _error
from .requests import _tags, _without_tags, update_request
from .runtime import Runtime, TrainingJobError


def _update_in_place(
    runtime: Runtime, kind: JobKind, name: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> None:
    if _without_tags(old) == _without_tags(new) and _tags(old) == _tags(new):
        return
    description = _describe(runtime, kind, name)
    if description is None:
        raise TrainingJobError(
            f"{kind.noun} {name} no longer exists, so it cannot be changed: it was "
            "deleted outside CloudFormation. Change another property to start a new job."
        )
    _update_tags(runtime, kind, name, description[kind.arn_field], old=_tags(old), new=_tags(new))
    # A tuning job changes nothing but its tags in place.
    update = update_request(old, new, description) if kind.has_update_operation else {}
    if update:
        try:
            _call(
                runtime,
                "UpdateTrainingJob",
                runtime.sagemaker.update_training_job,
                TrainingJobName=name,
                **update,
            )
        except ClientError as error:
            code, message = _error(error)
            raise TrainingJobError(
                f"UpdateTrainingJob for training job {name} failed ({code}): {message}"
            ) from error


def _update_tags(
    runtime: Runtime,
    kind: JobKind,
    name: str,
    arn: str,
    *,
    old: dict[str, str],
    new: dict[str, str],
) -> None:
    removed = sorted(set(old) - set(new))
    changed: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in new.items() if old.get(k) != v]
    try:
        if removed:
            _call(
                runtime,
                "DeleteTags",
                runtime.sagemaker.delete_tags,
                ResourceArn=arn,
                TagKeys=removed,
            )
        if changed:
            _call(runtime, "AddTags", runtime.sagemaker.add_tags, ResourceArn=arn, Tags=changed)
    except ClientError as error:
        code, message = _error(error)
        raise TrainingJobError(
            f"Updating the tags of {kind.noun.lower()} {name} failed ({code}): {message}"
        ) from error
