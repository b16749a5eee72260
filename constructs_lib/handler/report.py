"""A processing job's evaluation report (``report=``): the JSON file the job wrote to
one of its outputs, read from S3 once the job completed, and the metrics it holds at
the JSON paths the resource names (``json_path``), as SageMaker Pipelines'
``PropertyFile`` and ``JsonGet`` read them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .calls import _call, _error
from .json_path import metric_values
from .properties import REPORT
from .runtime import Description, Runtime, TrainingJobError

#: A report is a small JSON file; more than this is not read (a wrong path, say).
MAX_REPORT_BYTES = 1024 * 1024


def output_uri(description: Description, output: str) -> str | None:
    """The S3 URI of the processing job's output named ``output``."""
    for item in (description.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        if item.get("OutputName") == output:
            uri = (item.get("S3Output") or {}).get("S3Uri")
            return str(uri) if uri else None
    return None


def report_uri(description: Description, spec: Mapping[str, Any]) -> str | None:
    """Where the report of ``spec`` (:data:`REPORT`) is, for the job ``description``."""
    folder = output_uri(description, str(spec.get("Output", "")))
    if folder is None:
        return None
    return f"{folder.rstrip('/')}/{str(spec.get('Path', '')).lstrip('/')}"


def read_report(
    runtime: Runtime, description: Description, properties: Mapping[str, Any]
) -> tuple[str, dict[str, float]] | None:
    """The report's URI and metrics, for the resource ``properties`` that name one;
    None for a job without a report. Fails, saying why, when the report is absent, is
    not JSON, or lacks a metric."""
    spec = properties.get(REPORT)
    if not isinstance(spec, Mapping):
        return None
    name = description["ProcessingJobName"]
    what = f"Processing job {name} completed, but its evaluation report"
    uri = report_uri(description, spec)
    if uri is None:
        raise TrainingJobError(
            f"{what} cannot be found: the job has no output named {spec.get('Output')!r}."
        )
    document = _load(runtime, uri, what)
    values, absent = metric_values(document, spec.get("Metrics") or {})
    if absent:
        raise TrainingJobError(
            f"{what} {uri} lacks metrics: {'; '.join(absent)}. The stack does not use the "
            "job's results: CloudFormation rolls back, and on an update the stack keeps "
            "what it had. Fix the script's report or the report's metric paths, then "
            "deploy again."
        )
    return uri, values


def _load(runtime: Runtime, uri: str, what: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        response = _call(runtime, "GetObject", runtime.s3.get_object, Bucket=bucket, Key=key)
        body = response["Body"].read(MAX_REPORT_BYTES + 1)
    except ClientError as error:
        code, message = _error(error)
        if code in ("NoSuchKey", "404", "NotFound"):
            cause = "is absent: the script wrote no such file"
        elif code in ("AccessDenied", "403"):
            # S3 answers so for a missing object too, to a reader that may not list.
            cause = (
                f"cannot be read ({code}: {message}): it is absent, or the provider may "
                "not read it (the bucket's policy, its key's)"
            )
        else:
            cause = f"cannot be read ({code}: {message})"
        raise TrainingJobError(
            f"{what} {uri} {cause}. The stack does not use the job's results: "
            "CloudFormation rolls back, and on an update the stack keeps what it had. "
            "Check that the script writes the report under the output's local path, then "
            "deploy again."
        ) from error
    if len(body) > MAX_REPORT_BYTES:
        raise TrainingJobError(
            f"{what} {uri} is larger than {MAX_REPORT_BYTES} bytes: a report is a small "
            "JSON file of metrics. Check the report's path."
        )
    try:
        return json.loads(body)
    except ValueError as error:
        raise TrainingJobError(f"{what} {uri} is not JSON: {error}.") from error
