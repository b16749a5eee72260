"""Which job each job resource of a stack started.

CloudFormation learns a job's name only when the provider answers, at the end of the
wait. So, per refresh:

- ``DescribeStacks``: the stack's status, and when its current operation began;
- ``ListStackResources``: the physical ids (job names, service job ARNs, queue ARNs);
- the jobs created since the operation began whose names start with the stack's
  prefix: ``ListTrainingJobs`` / ``ListHyperParameterTuningJobs`` (``NameContains``,
  ``CreationTimeAfter``), ``ListServiceJobs`` of each queue (name filter). Each new
  one is checked once by its tags (the library tags each job with the logical id of
  its resource), so a job of another stack or of the account with a similar name is
  never taken for one of the stack's. The newest per resource is its job; a resource
  with none takes its physical id (a job from an earlier deploy).

The calls grow with the stack's jobs, never with the account's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..handler.kinds import PROCESSING, TRAINING, TRANSFORM, TUNING, JobKind
from ..handler.properties import LOGICAL_ID_TAG
from ..handler.queued import is_service_job
from ._assembly import StackSource, WatchError
from ._aws import Clients, error_code
from ._template import JobResource, resolve

#: Margin for clocks: jobs a little older than the operation's start still count.
_CLOCK_SKEW = dt.timedelta(minutes=2)


@dataclass
class StackState:
    """What a refresh found of one stack."""

    source: StackSource
    #: CloudFormation's status of the stack; None while it does not exist.
    status: str | None
    resources: list[JobResource]
    #: Logical id -> the job of the resource: a job name, or a service job's ARN.
    jobs: dict[str, str] = field(default_factory=dict)

    @property
    def in_progress(self) -> bool:
        """Whether CloudFormation is working on the stack (or it does not exist yet)."""
        return self.status is None or self.status.endswith("_IN_PROGRESS")


def _common_prefix(prefixes: Iterable[str]) -> str:
    return os.path.commonprefix(sorted(set(prefixes)))  # noqa: RUF071 - of names, by character


class Finder:
    """Finds the jobs of one stack, refresh after refresh (tags read once per job)."""

    def __init__(self, clients: Clients, source: StackSource) -> None:
        self._clients = clients
        self.source = source
        #: Job ARN -> the logical id its tags name (None: not one of the library's).
        self._owners: dict[str, str | None] = {}
        self._template: Mapping[str, Any] | None = source.template
        self._template_version: Any = None

    def find(self) -> StackState:
        stack = self._describe_stack()
        if stack is None:
            if self.source.template is None:
                raise WatchError(
                    f"stack {self.source.name} does not exist in {self._clients.region}: "
                    "give its name as CloudFormation has it, the region it is in "
                    "(--region), or --assembly to watch a stack before its deploy"
                )
            return StackState(self.source, None, self.source.jobs())
        template = self._stack_template(stack)
        state = StackState(self.source, str(stack["StackStatus"]), self.source.jobs(template))
        physical = self._physical_ids()
        since = stack.get("LastUpdatedTime") or stack["CreationTime"]
        since = since - _CLOCK_SKEW
        direct = [r for r in state.resources if not r.queued and r.fixed_name is None]
        for kind in (TRAINING, TUNING, PROCESSING, TRANSFORM):
            resources = [r for r in direct if r.kind is kind]
            if resources:
                state.jobs.update(self._direct(kind, resources, since))
        state.jobs.update(self._queued([r for r in state.resources if r.queued], physical, since))
        for resource in state.resources:
            if resource.logical_id in state.jobs:
                continue
            if resource.fixed_name is not None:
                state.jobs[resource.logical_id] = resource.fixed_name
                continue
            known = physical.get(resource.logical_id)
            if known and _names_a_job(resource, known):
                state.jobs[resource.logical_id] = known
        return state

    # -- CloudFormation --------------------------------------------------------

    def _describe_stack(self) -> Mapping[str, Any] | None:
        try:
            stacks = self._clients.cloudformation.describe_stacks(StackName=self.source.name)
        except Exception as error:
            if error_code(error) == "ValidationError" and "does not exist" in str(error):
                return None
            raise
        return stacks["Stacks"][0]

    def _stack_template(self, stack: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.source.template is not None:
            return self.source.template
        version = stack.get("LastUpdatedTime") or stack.get("CreationTime")
        if self._template is None or version != self._template_version:
            body = self._clients.cloudformation.get_template(
                StackName=self.source.name, TemplateStage="Original"
            )["TemplateBody"]
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    raise WatchError(
                        f"the template of stack {self.source.name} is not JSON (not one "
                        "the CDK deployed): give the app's cloud assembly (--assembly cdk.out)"
                    ) from None
            self._template, self._template_version = body, version
        assert self._template is not None
        return self._template

    def _physical_ids(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        paginator = self._clients.cloudformation.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=self.source.name):
            for summary in page.get("StackResourceSummaries", []):
                if summary.get("PhysicalResourceId"):
                    ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        return ids

    # -- jobs SageMaker starts -------------------------------------------------

    def _owner(self, arn: str) -> str | None:
        if arn not in self._owners:
            tags = self._clients.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
            self._owners[arn] = next(
                (tag["Value"] for tag in tags if tag["Key"] == LOGICAL_ID_TAG), None
            )
        return self._owners[arn]

    def _direct(
        self, kind: JobKind, resources: list[JobResource], since: dt.datetime
    ) -> dict[str, str]:
        """The newest job since ``since`` of each resource of ``kind``."""
        prefix = _common_prefix(r.name_prefix for r in resources)
        by_logical_id = {r.logical_id: r for r in resources}
        newest: dict[str, tuple[dt.datetime, str]] = {}
        for summary in self._list(kind, prefix, since):
            name, created = summary[kind.name_field], summary["CreationTime"]
            if not any(name.startswith(f"{r.name_prefix}-") for r in resources):
                continue  # e.g. a tuning job's training jobs
            owner = self._owner(summary[kind.arn_field])
            resource = by_logical_id.get(owner or "")
            if owner is None or resource is None:
                continue
            if not name.startswith(f"{resource.name_prefix}-"):
                continue
            if owner not in newest or created > newest[owner][0]:
                newest[owner] = (created, name)
        return {owner: name for owner, (_, name) in newest.items()}

    def _list(self, kind: JobKind, prefix: str, since: dt.datetime) -> Iterable[Mapping[str, Any]]:
        sagemaker = self._clients.sagemaker
        if kind is TUNING:
            pages: Iterable[Mapping[str, Any]] = sagemaker.get_paginator(
                "list_hyper_parameter_tuning_jobs"
            ).paginate(NameContains=prefix, CreationTimeAfter=since, SortBy="CreationTime")
            key = "HyperParameterTuningJobSummaries"
        elif kind is PROCESSING:
            pages = sagemaker.get_paginator("list_processing_jobs").paginate(
                NameContains=prefix, CreationTimeAfter=since, SortBy="CreationTime"
            )
            key = "ProcessingJobSummaries"
        elif kind is TRANSFORM:
            pages = sagemaker.get_paginator("list_transform_jobs").paginate(
                NameContains=prefix, CreationTimeAfter=since, SortBy="CreationTime"
            )
            key = "TransformJobSummaries"
        else:
            pages = sagemaker.get_paginator("list_training_jobs").paginate(
                NameContains=prefix, CreationTimeAfter=since, SortBy="CreationTime"
            )
            key = "TrainingJobSummaries"
        for page in pages:
            yield from page.get(key, [])

    # -- jobs through AWS Batch ------------------------------------------------

    def _queued(
        self, resources: list[JobResource], physical: Mapping[str, str], since: dt.datetime
    ) -> dict[str, str]:
        """The newest service job since ``since`` of each queued resource."""
        by_queue: dict[str, list[JobResource]] = {}
        for resource in resources:
            queue = resolve(resource.queue, physical)
            if queue:
                by_queue.setdefault(queue, []).append(resource)
        found: dict[str, str] = {}
        for queue, queued in by_queue.items():
            found.update(self._service_jobs(queue, queued, since))
        return found

    def _service_jobs(
        self, queue: str, resources: list[JobResource], since: dt.datetime
    ) -> dict[str, str]:
        batch = self._clients.batch
        prefix = _common_prefix(r.name_prefix for r in resources)
        by_logical_id = {r.logical_id: r for r in resources}
        newest: dict[str, tuple[int, str]] = {}
        after = since.timestamp() * 1000
        request: dict[str, Any] = {
            "jobQueue": queue,
            "filters": [{"name": "JOB_NAME", "values": [f"{prefix}*"]}],
        }
        while True:
            page = batch.list_service_jobs(**request)
            summaries = page.get("jobSummaryList", [])
            for summary in summaries:
                created = int(summary.get("createdAt", 0))
                if created < after:
                    continue
                owner = self._service_job_owner(summary["jobArn"])
                resource = by_logical_id.get(owner or "")
                if owner is None or resource is None:
                    continue
                if not summary["jobName"].startswith(f"{resource.name_prefix}-"):
                    continue
                if owner not in newest or created > newest[owner][0]:
                    newest[owner] = (created, summary["jobArn"])
            # Newest first: a page that reaches back before the operation is the last.
            older = any(int(s.get("createdAt", 0)) < after for s in summaries)
            if older or not page.get("nextToken"):
                break
            request["nextToken"] = page["nextToken"]
        return {owner: arn for owner, (_, arn) in newest.items()}

    def _service_job_owner(self, arn: str) -> str | None:
        if arn not in self._owners:
            description = self._clients.batch.describe_service_job(jobId=arn)
            self._owners[arn] = (description.get("tags") or {}).get(LOGICAL_ID_TAG)
        return self._owners[arn]


def _names_a_job(resource: JobResource, physical_id: str) -> bool:
    """Whether a resource's physical id names its job (not a failed Create's marker)."""
    if resource.queued:
        return is_service_job(physical_id)
    return resource.kind.is_name(physical_id)
