"""Delete: stopping a running job, waiting for it and for a VPC job's network
interfaces, deleting the record with RemovalPolicy.DESTROY."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .calls import _call, _describe, _error, _is_not_found, _operation, _stop
from .kinds import JobKind
from .properties import (
    REMOVAL_POLICY,
)
from .requests import vpc_config
from .runtime import Description, Runtime, TrainingJobError

# How long a Delete waits after the job ended for SageMaker to release the job's
# network interfaces, so the stack can delete its security groups and subnets next.
ENI_RELEASE_LIMIT = dt.timedelta(minutes=20)


def _delete(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    if kind.is_name(name):
        description = _describe(runtime, kind, name)
        if description is not None and description[kind.status_field] == "InProgress":
            _stop(runtime, kind, name)
    return {"PhysicalResourceId": name}


def _delete_complete(event: Mapping[str, Any], runtime: Runtime, kind: JobKind, name: str) -> bool:
    if not kind.is_name(name):
        # The physical id of a Create that failed before a job existed.
        return True
    description = _describe(runtime, kind, name)
    if description is None:
        return True
    status = description[kind.status_field]
    if status == "InProgress":
        _stop(runtime, kind, name)
        return False
    if status == "Stopping":
        return False
    if status in ("Deleting", "DeleteFailed"):
        # Deleted (or being deleted) outside CloudFormation: nothing left to do.
        return True
    if not _network_released(runtime, kind, description):
        return False
    removal = str(event["ResourceProperties"].get(REMOVAL_POLICY, "retain"))
    if removal.lower() == "destroy" and kind.has_delete_operation:
        delete_record(runtime, kind, name)
    return True


def delete_record(runtime: Runtime, kind: JobKind, name: str) -> None:
    """Delete the record of the ended job ``name`` (RemovalPolicy.DESTROY); one
    already gone is fine."""
    operation = kind.delete_operation
    try:
        _call(runtime, operation, _operation(runtime, operation), **{kind.name_field: name})
    except ClientError as error:
        if not _is_not_found(error):
            code, message = _error(error)
            raise TrainingJobError(
                f"{operation} for {kind.noun.lower()} {name} failed ({code}): {message}"
            ) from error


def _network_released(runtime: Runtime, kind: JobKind, description: Description) -> bool:
    """Whether SageMaker released the network interfaces of an ended VPC job (or the
    bounded wait for it is over)."""
    vpc = vpc_config(description)
    if not vpc:
        return True
    ended = description.get(kind.end_time_field) or description.get("LastModifiedTime")
    if ended is not None and runtime.now() - ended > ENI_RELEASE_LIMIT:
        print(
            json.dumps(
                {
                    "warning": "network interfaces still present after the wait limit",
                    "job": description[kind.name_field],
                }
            )
        )
        return True
    response = _call(
        runtime,
        "DescribeNetworkInterfaces",
        runtime.ec2.describe_network_interfaces,
        Filters=[
            {"Name": "group-id", "Values": list(vpc["SecurityGroupIds"])},
            {"Name": "subnet-id", "Values": list(vpc["Subnets"])},
            {"Name": "requester-managed", "Values": ["true"]},
        ],
    )
    return not response.get("NetworkInterfaces")
