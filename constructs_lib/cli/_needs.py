"""What a synthesized stack will run at once, per instance type and usage, as
SageMaker's quotas count it (``ml.m5.xlarge for training job usage``, ``... for spot
training job usage``, ``... for processing job usage``, ``... for transform job
usage``): the preflight's first question (issue 41).

Each job resource of the template needs its instances (a tuning job: each training
job's instances times how many run in parallel). Jobs that depend on each other do
not add up: a job that waits for another's end (its resource, or its wait condition)
starts after it. Jobs that can run together do: what one usage needs at once is the
heaviest set of its jobs no two of which are ordered, the weighted width of the
"starts after" order (Dilworth: the fewest chains that cover each job as often as
its weight), computed by a maximum flow.

Standard library only: the ``cli`` reads templates, it imports no AWS CDK.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..handler.kinds import KINDS, PROCESSING, TRAINING, TRANSFORM, TUNING, JobKind
from ..handler.properties import QUEUE

_KIND_OF = {kind.resource_type: kind for kind in KINDS}
_WAIT_CONDITION = "AWS::CloudFormation::WaitCondition"


@dataclass(frozen=True)
class Need:
    """Instances one job resource needs at once, of one type and usage."""

    logical_id: str
    instance_type: str
    usage: str
    instances: int

    @property
    def quota_name(self) -> str:
        """The quota's name as Service Quotas lists it."""
        return f"{self.instance_type} for {self.usage} usage"


@dataclass
class AtOnce:
    """What one quota is asked for at once: the most instances, and the jobs."""

    quota_name: str
    instances: int
    logical_ids: list[str] = field(default_factory=list)


def _references(value: Any) -> Iterator[str]:
    """The logical ids ``value`` refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``)."""
    if isinstance(value, Mapping):
        if len(value) == 1:
            key, item = next(iter(value.items()))
            if key == "Ref" and isinstance(item, str):
                yield item
                return
            if key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".")[0]
                yield str(target)
                return
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, str) and "${" in value:
        for part in value.split("${")[1:]:
            yield part.split("}")[0].split(".")[0]


def direct_dependencies(resources: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each resource's direct dependencies: its ``DependsOn`` and what it refers to."""
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn") or []
        found = {depends} if isinstance(depends, str) else set(depends)
        found |= set(_references(resource.get("Properties") or {}))
        graph[logical_id] = {r for r in found if r in resources and r != logical_id}
    return graph


def _ancestors(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Each resource's transitive dependencies (iteratively: a template's chains can be
    deeper than Python's recursion; a cycle, which CloudFormation would refuse, ends
    where it closes)."""
    closure: dict[str, set[str]] = {}
    for start in graph:
        if start in closure:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        on_path = {start}
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is None:
                stack.pop()
                on_path.discard(node)
                found: set[str] = set()
                for direct in graph.get(node, ()):
                    found.add(direct)
                    found |= closure.get(direct, set())
                closure[node] = found
            elif parent not in closure and parent not in on_path:
                on_path.add(parent)
                stack.append((parent, iter(sorted(graph.get(parent, ())))))
    return closure


def job_ends(resources: Mapping[str, Any], logical_id: str) -> set[str]:
    """The resources that complete when the job of ``logical_id`` ended: the job's own
    in waiting mode; its wait conditions when something else waits; none when nothing
    waits (``Completion.none()``: what depends on it may run beside it)."""
    properties = resources[logical_id].get("Properties") or {}
    if properties.get("CompletionMode") != "created":
        return {logical_id}
    return {
        other
        for other, resource in resources.items()
        if resource.get("Type") == _WAIT_CONDITION
        and logical_id in _listed(resource.get("DependsOn"))
    }


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def training_usage(definition: Mapping[str, Any]) -> str:
    spot = definition.get("EnableManagedSpotTraining") in (True, "true")
    return "spot training job" if spot else "training job"


def instances_of(definition: Mapping[str, Any], parallel: int) -> Iterator[tuple[str, int]]:
    config = (
        definition.get("ResourceConfig")
        or definition.get("HyperParameterTuningResourceConfig")
        or {}
    )
    groups = config.get("InstanceGroups") or []
    pairs = (
        [(g.get("InstanceType"), g.get("InstanceCount")) for g in groups]
        if groups
        else [(config.get("InstanceType"), config.get("InstanceCount", 1))]
    )
    for instance_type, count in pairs:
        number = whole_number(count)
        if isinstance(instance_type, str) and number is not None:
            yield instance_type, number * parallel


def job_needs(logical_id: str, kind: JobKind, request: Mapping[str, Any]) -> list[Need]:
    """The instances a job of ``kind`` with the Create ``request`` needs at once."""
    if kind is TRAINING:
        usage = training_usage(request)
        return [Need(logical_id, t, usage, n) for t, n in instances_of(request, 1)]
    if kind is TUNING:
        limits = (request.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}
        parallel = whole_number(limits.get("MaxParallelTrainingJobs")) or 1
        definitions = [
            request.get("TrainingJobDefinition"),
            *(request.get("TrainingJobDefinitions") or []),
        ]
        return [
            Need(logical_id, t, training_usage(d), n)
            for d in definitions
            if isinstance(d, Mapping)
            for t, n in instances_of(d, parallel)
        ]
    cluster = single_cluster(kind, request)
    if cluster is not None:
        return [Need(logical_id, cluster[0], cluster[1], cluster[2])]
    return []


def single_cluster(kind: JobKind, request: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """A processing or transform job's one cluster: (instance type, usage, count);
    None for other kinds, or a request without them."""
    if kind is PROCESSING:
        resources = (request.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        usage = "processing job"
    elif kind is TRANSFORM:
        resources = request.get("TransformResources") or {}
        usage = "transform job"
    else:
        return None
    number = whole_number(resources.get("InstanceCount", 1))
    instance_type = resources.get("InstanceType")
    if isinstance(instance_type, str) and number is not None:
        return instance_type, usage, number
    return None


def job_requests(resources: Mapping[str, Any]) -> Iterator[tuple[str, JobKind, Mapping[str, Any]]]:
    """Each job resource of a template's ``resources``: its logical id, kind and Create
    request, in template order."""
    for logical_id, resource in resources.items():
        kind = _KIND_OF.get(str(resource.get("Type")))
        if kind is None:
            continue
        request = (resource.get("Properties") or {}).get(kind.request_property)
        if isinstance(request, Mapping):
            yield logical_id, kind, request


def stack_needs(template: Mapping[str, Any]) -> list[AtOnce]:
    """What each quota is asked for at once by the stack of ``template``, the largest
    first."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    needs = [
        need
        for logical_id, kind, request in job_requests(resources)
        for need in job_needs(logical_id, kind, request)
    ]
    ancestors = _ancestors(direct_dependencies(resources))
    jobs = {need.logical_id for need in needs}
    ends = {job: job_ends(resources, job) for job in jobs}
    after: dict[str, set[str]] = {
        job: {other for other in jobs if other != job and ends[other] & ancestors.get(job, set())}
        for job in jobs
    }
    by_quota: dict[str, list[Need]] = {}
    for need in needs:
        by_quota.setdefault(need.quota_name, []).append(need)
    capacities = {job: queue_capacity(resources, job) for job in jobs}
    found = [
        AtOnce(name, _at_once(group, after, capacities), sorted({n.logical_id for n in group}))
        for name, group in by_quota.items()
    ]
    return sorted(found, key=lambda at_once: (-at_once.instances, at_once.quota_name))


def queue_capacity(resources: Mapping[str, Any], logical_id: str) -> tuple[str, int] | None:
    """The AWS Batch queue of the stack a job goes through and the instances it runs at
    once (its service environments' ``NUM_INSTANCES`` limits); None for a job SageMaker
    starts at once, or whose queue the template does not define."""
    queue = (resources[logical_id].get("Properties") or {}).get(QUEUE) or {}
    queue_ids = [r for r in _references(queue.get("JobQueue")) if r in resources]
    if len(queue_ids) != 1:
        return None
    order = (resources[queue_ids[0]].get("Properties") or {}).get("ServiceEnvironmentOrder") or []
    capacity = 0
    for entry in order:
        for environment in _references(
            entry.get("ServiceEnvironment") if isinstance(entry, Mapping) else None
        ):
            limits = (resources.get(environment, {}).get("Properties") or {}).get("CapacityLimits")
            for limit in limits or []:
                number = whole_number(limit.get("MaxCapacity"))
                if limit.get("CapacityUnit") != "NUM_INSTANCES" or number is None:
                    return None
                capacity += number
    return (queue_ids[0], capacity) if capacity else None


def _at_once(
    needs: list[Need],
    after: Mapping[str, set[str]],
    capacities: Mapping[str, tuple[str, int] | None],
) -> int:
    """The most instances of ``needs`` at once: the widest set of jobs that can run
    together, where the jobs of one queue together run no more than its capacity (the
    widest set of the jobs outside queues, plus each queue's widest set up to its
    capacity: jobs that can run together can be split so)."""
    together = widest(needs, after)
    queued: dict[str, list[Need]] = {}
    capacity_of: dict[str, int] = {}
    direct: list[Need] = []
    for need in needs:
        queue = capacities.get(need.logical_id)
        if queue is None:
            direct.append(need)
        else:
            queued.setdefault(queue[0], []).append(need)
            capacity_of[queue[0]] = queue[1]
    if not queued:
        return together
    split = widest(direct, after) + sum(
        min(capacity_of[queue], widest(group, after)) for queue, group in queued.items()
    )
    return min(together, split)


def widest(needs: list[Need], after: Mapping[str, set[str]]) -> int:
    """The heaviest antichain of ``needs`` under ``after`` (job -> the jobs it starts
    after, transitively): the total weight less a maximum flow from each job to the
    jobs that start after it (weighted Dilworth)."""
    weights: dict[str, int] = {}
    for need in needs:
        weights[need.logical_id] = weights.get(need.logical_id, 0) + need.instances
    nodes = sorted(weights)
    total = sum(weights.values())
    # Nodes: source, each job's "out" side, each job's "in" side, sink.
    source, sink = "s", "t"
    capacity: dict[str, dict[str, int]] = {source: {}, sink: {}}
    for job in nodes:
        capacity.setdefault(f"o:{job}", {})
        capacity.setdefault(f"i:{job}", {})
        capacity[source][f"o:{job}"] = weights[job]
        capacity[f"i:{job}"][sink] = weights[job]
    for later in nodes:
        for earlier in after.get(later, set()) & set(nodes):
            capacity[f"o:{earlier}"][f"i:{later}"] = total
    return total - _max_flow(capacity, source, sink)


def _max_flow(capacity: dict[str, dict[str, int]], source: str, sink: str) -> int:
    """Edmonds-Karp on the residual graph of ``capacity`` (changed in place)."""
    for node in list(capacity):
        for target in list(capacity[node]):
            capacity.setdefault(target, {}).setdefault(node, 0)
    flow = 0
    while True:
        parents: dict[str, str] = {source: source}
        queue = deque([source])
        while queue and sink not in parents:
            node = queue.popleft()
            for target, room in capacity[node].items():
                if room > 0 and target not in parents:
                    parents[target] = node
                    queue.append(target)
        if sink not in parents:
            return flow
        path = []
        node = sink
        while node != source:
            path.append((parents[node], node))
            node = parents[node]
        pushed = min(capacity[a][b] for a, b in path)
        for a, b in path:
            capacity[a][b] -= pushed
            capacity[b][a] += pushed
        flow += pushed
