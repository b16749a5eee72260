"""Deliver a synthesized request to the handler, as CloudFormation would.

CloudFormation resolves intrinsics (here: plausible concrete values chosen by the
member they fill) and turns every scalar into a string; the handler then coerces
and calls CreateTrainingJob on the fake, which validates against botocore's model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import Stack

from constructs_lib import HyperparameterTuningJob, TrainingJob
from constructs_lib.handler import lifecycle
from constructs_lib.handler.kinds import TRAINING, TUNING, JobKind
from constructs_lib.handler.properties import NAME_PREFIX, REQUEST
from tests.fakes import FakeSageMaker, runtime
from tests.harness import Framework, cfn_strings

_BY_MEMBER = {
    "RoleArn": "arn:aws:iam::123456789012:role/execution",
    "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:v1",
    "S3Uri": "s3://bucket/prefix/",
    "S3OutputPath": "s3://bucket/output/",
    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-12345678",
    "TrainingRepositoryCredentialsProviderArn": (
        "arn:aws:lambda:us-east-1:123456789012:function:credentials"
    ),
    "SecurityGroupIds": "sg-0123456789abcdef0",
    "Subnets": "subnet-0123456789abcdef0",
}


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))
    )


def concretize(value: Any, member: str = "") -> Any:
    """``value`` with each intrinsic replaced by a plausible value for ``member``."""
    if _is_intrinsic(value):
        return _BY_MEMBER.get(member, "concrete-value")
    if isinstance(value, dict):
        return {key: concretize(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [concretize(item, member) for item in value]
    return value


def resolved_properties(
    properties: dict[str, Any], *, ref: Callable[[str], str], get_att: str | None = None
) -> dict[str, Any]:
    """A custom resource's ``properties`` as its handler receives them: without
    ``ServiceToken`` and ``ServiceTimeout``, each ``Fn::Join`` joined, each ``Ref`` to a
    logical id ``ref(id)``, and each ``Fn::GetAtt`` ``get_att`` (kept when None)."""

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            key, item = next(iter(value.items()))
            if key == "Fn::Join":
                return item[0].join(str(resolve(part)) for part in item[1])
            if key == "Ref":
                return ref(item)
            if key == "Fn::GetAtt" and get_att is not None:
                return get_att
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return {
        key: resolve(value)
        for key, value in properties.items()
        if key not in ("ServiceToken", "ServiceTimeout")
    }


def created_request(kind: JobKind, properties: dict[str, Any]) -> dict[str, Any]:
    """Create a resource of ``kind`` with ``properties`` (as CloudFormation sends them)
    through the real handler on a fresh fake; return the ``Create<kind>`` request the
    fake received (validated against botocore's model on the way in)."""
    sagemaker = FakeSageMaker()
    framework = Framework(sagemaker)
    framework.resource_type = kind.resource_type
    lifecycle.on_event(framework.event("Create", properties), runtime(sagemaker))
    [sent] = sagemaker.calls_of(f"Create{kind.api_name}")
    return sent


def deliver(job: TrainingJob) -> dict[str, Any]:
    """Create ``job`` through the real handler on a fresh fake; return the request
    the fake received (validated against botocore's model on the way in)."""
    resolved = Stack.of(job).resolve(job.request)
    properties = cfn_strings({REQUEST: concretize(resolved), NAME_PREFIX: "stack-abc-job"})
    return created_request(TRAINING, properties)


def deliver_tuning(job: HyperparameterTuningJob) -> dict[str, Any]:
    """Create tuning job ``job`` through the real handler on a fresh fake; return the
    CreateHyperParameterTuningJob request the fake received (validated against
    botocore's model on the way in)."""
    resolved = Stack.of(job).resolve(job.request)
    properties = cfn_strings(
        {TUNING.request_property: concretize(resolved), NAME_PREFIX: "stack-abc-tune"}
    )
    return created_request(TUNING, properties)
