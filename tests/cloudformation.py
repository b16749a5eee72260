"""CloudFormation, played on a synthesized template, around the handler.

:class:`Engine` deploys whole templates the way CloudFormation does, one resource at
a time in dependency order, on the fakes' simulated clock:

- properties are resolved (``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub`` ...)
  against the physical ids and attributes of the moment, so a resource whose
  reference changed value (a replaced custom resource) receives an Update;
- custom resources go through the provider framework (:class:`~tests.harness.Framework`)
  to the real handler, with the framework's physical ids on failure (on_event: the
  event's; is_complete: on_event's result, merged into the event);
- a ``WaitCondition`` waits for signals on its handle on Create only: CloudFormation
  never evaluates one again on Update (the Update is recorded in
  :attr:`Engine.unevaluated_waits`);
- EventBridge delivers SageMaker's state-change events to the deployed rules, whose
  targets run the real signalling function, which signals the handles;
- a failed update rolls back: the stack is ``UPDATE_ROLLBACK_IN_PROGRESS`` (what
  DescribeStacks says), each changed resource gets an Update back to its old
  properties, with the physical id CloudFormation holds for it: the previous one
  (``failed_physical_id="previous"``) or the one of the FAILED response
  (``"response"``), the two shapes seen; then the cleanup deletes what the update
  created and what the rollback replaced.

Only what the library's templates use is modelled; anything else raises
``NotImplementedError`` so that a test never passes on a guess.
"""

from __future__ import annotations

import copy
import graphlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from constructs_lib.handler import signal
from tests.fakes import ACCOUNT, REGION, FakeBatch, FakeCloudFormation, FakeEC2, FakeSageMaker
from tests.harness import STACK_ID, Framework, Response, cfn_strings

PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": STACK_ID,
    "AWS::StackName": STACK_ID.split("/")[1],
}
WAIT_STEP_SECONDS = 30.0
HANDLE_PREFIX = f"https://cloudformation-waitcondition-{REGION}.s3.amazonaws.com/"
#: Resource types that need replacement when these properties change.
REPLACING_PROPERTIES = {"AWS::S3::Bucket": {"BucketName"}}


def _create_only(type_: str) -> set[str]:
    """The properties whose change replaces a resource of ``type_``, from
    CloudFormation's own resource schema (as cfn-lint ships it)."""
    import cfnlint.data.schemas  # noqa: PLC0415

    root = Path(cfnlint.data.schemas.__file__).parent
    providers = json.loads((root / "providers" / "us-east-1.json").read_text())
    schema = json.loads((root / "resources" / f"{providers[type_]}.json").read_text())
    return {p.split("/")[2] for p in schema.get("createOnlyProperties", [])}


# The registry's resources: a retraining replaces its model package version.
for _type in ("AWS::SageMaker::ModelPackage", "AWS::SageMaker::ModelPackageGroup"):
    REPLACING_PROPERTIES[_type] = _create_only(_type)


class ResourceFailedError(Exception):
    """A resource operation failed; CloudFormation rolls the stack back."""

    def __init__(self, logical_id: str, reason: str, physical_id: str | None = None) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id = logical_id
        self.reason = reason
        self.physical_id = physical_id


@dataclass
class State:
    """A resource as CloudFormation holds it."""

    type: str
    properties: dict[str, Any]
    physical_id: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Operation:
    """One resource operation of a deploy, as the stack's events show it."""

    phase: str  # the stack status while it ran
    action: str  # Create, Update, Delete
    logical_id: str
    physical_id: str
    status: str  # COMPLETE or FAILED
    reason: str = ""
    at: float = 0.0  # simulated seconds when it ended


class Engine:
    """One stack, deployed template after template."""

    def __init__(
        self,
        sagemaker: FakeSageMaker | None = None,
        *,
        failed_physical_id: Literal["previous", "response"] = "response",
    ) -> None:
        self.sagemaker = sagemaker or FakeSageMaker()
        self.clock = self.sagemaker.clock
        self.ec2 = FakeEC2(self.sagemaker)
        self.cloudformation = FakeCloudFormation(self.clock, STACK_ID)
        #: AWS Batch, for queued training jobs: its service jobs run on the fake SageMaker.
        self.batch = FakeBatch(self.sagemaker)
        self.framework = Framework(self.sagemaker, self.ec2, self.cloudformation, self.batch)
        # The handler's signal check signals the handles this engine holds.
        self.framework.runtime.put = self._put_signal
        self.failed_physical_id = failed_physical_id
        self.template: dict[str, Any] = {"Resources": {}}
        self.resources: dict[str, State] = {}
        self.operations: list[Operation] = []
        #: (logical id, old properties, new properties) of wait conditions updated.
        self.unevaluated_waits: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        #: Signals received per wait condition handle URL.
        self.signals: dict[str, dict[str, dict[str, Any]]] = {}
        #: Resources whose next operation of this kind fails: {(logical id, action)}.
        self.failures: set[tuple[str, str]] = set()
        self._counter = 0
        self._seen_status: dict[str, str] = {}
        #: SageMaker calls made while the stack was in each status.
        self.calls_by_phase: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    # -- the stack --------------------------------------------------------------

    @property
    def status(self) -> str:
        return self.cloudformation.status

    def _set_status(self, status: str) -> None:
        self.cloudformation.status = status

    def deploy(self, template: dict[str, Any]) -> str:
        """``cdk deploy`` of ``template``: the final stack status."""
        template = copy.deepcopy(template)
        creating = not self.resources and self.status == "CREATE_IN_PROGRESS"
        if creating:
            return self._create_stack(template)
        return self._update_stack(template)

    def _create_stack(self, template: dict[str, Any]) -> str:
        self._set_status("CREATE_IN_PROGRESS")
        self.template = template
        try:
            self._apply(template, rollback=False)
        except ResourceFailedError:
            self._set_status("ROLLBACK_IN_PROGRESS")
            self._delete_all(template)
            self._set_status("ROLLBACK_COMPLETE")
            return self.status
        self._set_status("CREATE_COMPLETE")
        return self.status

    def _update_stack(self, template: dict[str, Any]) -> str:
        old_template = self.template
        self._set_status("UPDATE_IN_PROGRESS")
        try:
            replaced = self._apply(template, rollback=False)
        except ResourceFailedError:
            self._set_status("UPDATE_ROLLBACK_IN_PROGRESS")
            try:
                replaced_back = self._apply(old_template, rollback=True)
            except ResourceFailedError:
                self._set_status("UPDATE_ROLLBACK_FAILED")
                return self.status
            self._set_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            self._cleanup(template, old_template, replaced_back)
            self._set_status("UPDATE_ROLLBACK_COMPLETE")
            return self.status
        self.template = template
        self._set_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        self._cleanup(old_template, template, replaced)
        self._set_status("UPDATE_COMPLETE")
        return self.status

    def destroy(self) -> str:
        self._set_status("DELETE_IN_PROGRESS")
        self._delete_all(self.template)
        self._set_status("DELETE_COMPLETE")
        return self.status

    # -- applying a template ----------------------------------------------------

    def _apply(self, template: dict[str, Any], *, rollback: bool) -> list[tuple[str, State]]:
        """Create or update every resource of ``template`` in dependency order; the
        states replaced on the way (to delete in the cleanup)."""
        replaced: list[tuple[str, State]] = []
        for logical_id in self._order(template):
            definition = template["Resources"][logical_id]
            properties = self._resolve(definition.get("Properties", {}), template, logical_id)
            current = self.resources.get(logical_id)
            if current is None:
                self._create(logical_id, definition["Type"], properties)
                continue
            if current.properties == properties:
                continue
            previous = self._update(logical_id, current, properties, rollback=rollback)
            if previous is not None:
                replaced.append((logical_id, previous))
        return replaced

    def _cleanup(
        self,
        removed_from: dict[str, Any],
        kept_in: dict[str, Any],
        replaced: list[tuple[str, State]],
    ) -> None:
        """Delete the replaced physical resources and the resources ``kept_in``
        does not have (in reverse dependency order of ``removed_from``)."""
        for logical_id, state in replaced:
            policy = kept_in["Resources"].get(logical_id, {}).get("UpdateReplacePolicy")
            if policy == "Retain":
                # Left in the account: CloudFormation forgets it.
                self._record("Retain", logical_id, state.physical_id, "COMPLETE")
                continue
            self._delete(logical_id, state)
        for logical_id in reversed(self._order(removed_from)):
            if logical_id not in kept_in["Resources"] and logical_id in self.resources:
                self._delete(logical_id, self.resources.pop(logical_id))
        # Resources created by a failed update that its template no longer reached.
        for logical_id in list(self.resources):
            if logical_id not in kept_in["Resources"]:
                self._delete(logical_id, self.resources.pop(logical_id))

    def _delete_all(self, template: dict[str, Any]) -> None:
        for logical_id in reversed(self._order(template)):
            if logical_id in self.resources:
                self._delete(logical_id, self.resources.pop(logical_id))

    # -- one resource -------------------------------------------------------------

    def _create(self, logical_id: str, type_: str, properties: dict[str, Any]) -> None:
        self._maybe_fail(logical_id, "Create")
        if _is_custom(type_):
            response = self._custom("Create", logical_id, type_, properties)
            if response.status != "SUCCESS":
                # The framework's marker id: the rollback's Delete of it is a no-op.
                self.resources[logical_id] = State(type_, properties, response.physical_id)
                self._record("Create", logical_id, response.physical_id, "FAILED", response.reason)
                raise ResourceFailedError(logical_id, response.reason, response.physical_id)
            state = State(type_, properties, response.physical_id, dict(response.data))
        elif type_ == "AWS::CloudFormation::WaitConditionHandle":
            state = State(type_, properties, f"{HANDLE_PREFIX}{logical_id}-{self._next()}?sig=x")
        elif type_ == "AWS::CloudFormation::WaitCondition":
            state = State(type_, properties, f"{logical_id}-{self._next()}")
            self.resources[logical_id] = state
            try:
                state.attributes = self._wait(logical_id, properties)
            except ResourceFailedError as failure:
                self._record("Create", logical_id, state.physical_id, "FAILED", failure.reason)
                raise
        else:
            physical_id = f"{logical_id.lower()}-{self._next()}"
            state = State(type_, properties, physical_id, _attributes(type_, physical_id))
        self.resources[logical_id] = state
        self._record("Create", logical_id, state.physical_id, "COMPLETE")
        self._deliver_events()

    def _update(
        self, logical_id: str, current: State, properties: dict[str, Any], *, rollback: bool
    ) -> State | None:
        """Update in place or replace; the replaced state, if any."""
        if not rollback:
            self._maybe_fail(logical_id, "Update")
        previous = copy.deepcopy(current)
        if _is_custom(current.type):
            response = self._custom(
                "Update",
                logical_id,
                current.type,
                properties,
                physical_id=current.physical_id,
                old_properties=current.properties,
            )
            if response.status != "SUCCESS":
                self._record("Update", logical_id, response.physical_id, "FAILED", response.reason)
                # What CloudFormation holds afterwards: the rollback's Update carries it.
                if self.failed_physical_id == "response":
                    current.physical_id = response.physical_id
                current.properties = properties
                raise ResourceFailedError(logical_id, response.reason, response.physical_id)
            current.properties = properties
            current.attributes = dict(response.data)
            current.physical_id = response.physical_id
        elif current.type == "AWS::CloudFormation::WaitCondition":
            # Never evaluated again: nothing waits.
            self.unevaluated_waits.append((logical_id, current.properties, properties))
            current.properties = properties
        elif _needs_replacement(current, properties):
            physical_id = f"{logical_id.lower()}-{self._next()}"
            current.properties = properties
            current.physical_id = physical_id
            current.attributes = _attributes(current.type, physical_id)
        else:
            current.properties = properties
        self._record("Update", logical_id, current.physical_id, "COMPLETE")
        self._deliver_events()
        return previous if previous.physical_id != current.physical_id else None

    def _delete(self, logical_id: str, state: State) -> None:
        if _is_custom(state.type):
            response = self._custom(
                "Delete", logical_id, state.type, state.properties, physical_id=state.physical_id
            )
            self._record("Delete", logical_id, state.physical_id, response.status, response.reason)
            assert response.status == "SUCCESS", f"Delete of {logical_id}: {response.reason}"
        else:
            self._record("Delete", logical_id, state.physical_id, "COMPLETE")

    def _custom(
        self,
        request_type: str,
        logical_id: str,
        type_: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
    ) -> Response:
        extra: dict[str, Any] = {"LogicalResourceId": logical_id, "ResourceType": type_}
        if physical_id is not None:
            extra["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            extra["OldResourceProperties"] = cfn_strings(old_properties)
        event = self.framework.event(request_type, cfn_strings(properties), **extra)
        before = len(self.sagemaker.calls)
        response = self.framework.run(event)
        self.calls_by_phase.setdefault(self.status, []).extend(self.sagemaker.calls[before:])
        return response

    def _wait(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        """A wait condition's Create: wait for its handle's signals or the timeout."""
        url, count = properties["Handle"], int(properties.get("Count", 1))
        deadline = self.clock.seconds + float(properties["Timeout"])
        while True:
            self._deliver_events()
            received = self.signals.get(url, {})
            failures = [s for s in received.values() if s["Status"] == "FAILURE"]
            if failures:
                raise ResourceFailedError(
                    logical_id, f"WaitCondition received failed message: '{failures[0]['Reason']}'"
                )
            if len(received) >= count:
                return {"Data": json.dumps({k: s.get("Data") for k, s in received.items()})}
            if self.clock.seconds >= deadline:
                raise ResourceFailedError(logical_id, "WaitCondition timed out")
            self.clock.sleep(WAIT_STEP_SECONDS)

    # -- EventBridge ---------------------------------------------------------------

    def _deliver_events(self) -> None:
        """SageMaker's state-change events since the last delivery, to the rules: of
        training jobs and of hyperparameter tuning jobs."""
        kinds = (
            (self.sagemaker.jobs, "Training", "SageMaker Training Job State Change"),
            (
                self.sagemaker.tuning_jobs,
                "HyperParameterTuning",
                "SageMaker HyperParameter Tuning Job State Change",
            ),
        )
        for jobs, prefix, detail_type in kinds:
            for job in list(jobs.values()):
                self.sagemaker.advance(job)
                key = f"{prefix}/{job.name}"
                if self._seen_status.get(key) == job.status:
                    continue
                self._seen_status[key] = job.status
                detail = {
                    f"{prefix}JobName": job.name,
                    f"{prefix}JobArn": job.arn,
                    f"{prefix}JobStatus": job.status,
                }
                if job.status == "Failed":
                    detail["FailureReason"] = job.plan.failure_reason
                event = {"source": "aws.sagemaker", "detail-type": detail_type, "detail": detail}
                self._to_rules(event)
        self._deliver_service_job_events()

    def _deliver_service_job_events(self) -> None:
        """AWS Batch's "Batch Service Job State Change" events: time acts on each
        service job as a describe would (queued, started, ended), and each change of
        status after the submission is an event."""
        for job in list(self.batch.jobs.values()):
            self.batch._observe(job)
            key = f"ServiceJob/{job.job_id}"
            if self._seen_status.get(key, "SUBMITTED") == job.status:
                continue
            self._seen_status[key] = job.status
            description = self.batch._description(job)
            detail = {
                k: v for k, v in description.items() if k not in ("tags", "serviceRequestPayload")
            }
            self._to_rules(
                {
                    "source": "aws.batch",
                    "detail-type": "Batch Service Job State Change",
                    "detail": detail,
                }
            )

    def _to_rules(self, event: dict[str, Any]) -> None:
        for state in list(self.resources.values()):
            if state.type == "AWS::Events::Rule" and _matches(
                state.properties.get("EventPattern", {}), event
            ):
                for target in state.properties.get("Targets", []):
                    self._invoke(target, event)

    def _invoke(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        function = next(
            (
                s
                for s in self.resources.values()
                if s.type == "AWS::Lambda::Function" and s.attributes["Arn"] == target["Arn"]
            ),
            None,
        )
        assert function is not None, f"rule target {target['Arn']} is no function of the stack"
        handler = function.properties["Handler"]
        if handler != "handler.signal.handler":
            raise NotImplementedError(f"rule target runs {handler}")
        signal.handle_event(_target_input(target, event), self._put_signal)

    def _put_signal(self, url: str, body: dict[str, Any]) -> None:
        assert url.startswith(HANDLE_PREFIX), url
        self.signals.setdefault(url, {})[body["UniqueId"]] = body

    # -- helpers -------------------------------------------------------------------

    def _maybe_fail(self, logical_id: str, action: str) -> None:
        if (logical_id, action) in self.failures:
            self.failures.discard((logical_id, action))
            self._record(action, logical_id, "", "FAILED", "injected failure")
            raise ResourceFailedError(logical_id, f"{action} failed (injected)")

    def _record(
        self, action: str, logical_id: str, physical_id: str, status: str, reason: str = ""
    ) -> None:
        self.operations.append(
            Operation(
                self.status, action, logical_id, physical_id, status, reason, self.clock.seconds
            )
        )

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _order(self, template: dict[str, Any]) -> list[str]:
        resources = template["Resources"]
        graph: dict[str, set[str]] = {}
        for logical_id, definition in resources.items():
            depends = definition.get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else list(depends)
            refs = _references(definition.get("Properties", {}))
            graph[logical_id] = {d for d in [*depends, *refs] if d in resources}
        sorter = graphlib.TopologicalSorter(graph)
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    def _resolve(self, value: Any, template: dict[str, Any], logical_id: str) -> Any:
        return _Resolver(self, template, logical_id).resolve(value)

    # -- what tests read -------------------------------------------------------------

    def physical_id(self, prefix: str) -> str:
        return self.resources[self.logical_id(prefix)].physical_id

    def logical_id(self, prefix: str) -> str:
        found = [lid for lid in self.resources if lid.startswith(prefix)]
        assert len(found) == 1, f"{prefix}: {found}"
        return found[0]

    def sagemaker_calls(self, phase: str, operation: str) -> list[dict[str, Any]]:
        return [p for op, p in self.calls_by_phase.get(phase, []) if op == operation]

    def failed(self) -> list[Operation]:
        """The operations that failed, for assertion messages."""
        return [op for op in self.operations if op.status == "FAILED"]

    def of_phase(self, phase: str) -> list[Operation]:
        return [op for op in self.operations if op.phase == phase]


class _Resolver:
    def __init__(self, engine: Engine, template: dict[str, Any], logical_id: str) -> None:
        self.engine = engine
        self.template = template
        self.logical_id = logical_id

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = _INTRINSICS.get(key)
            if function is not None:
                return function(self, argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def state(self, logical_id: str) -> State:
        state = self.engine.resources.get(logical_id)
        if state is None:
            raise ResourceFailedError(self.logical_id, f"{logical_id} does not exist yet")
        return state

    def ref(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            return str(parameters[name].get("Default", ""))
        return self.state(name).physical_id

    def get_att(self, argument: Any) -> str:
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        state = self.state(logical_id)
        if attribute not in state.attributes:
            # CloudFormation's error when a custom resource's response lacks it.
            raise ResourceFailedError(
                self.logical_id,
                f"CustomResource attribute error: Vendor response doesn't contain "
                f"{attribute} attribute in object {logical_id}",
            )
        return state.attributes[attribute]

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self.get_att(name)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def find_in_map(self, argument: list[Any]) -> Any:
        name, first, second = (self.resolve(a) for a in argument)
        return self.template["Mappings"][name][first][second]


_INTRINSICS: dict[str, Callable[[_Resolver, Any], Any]] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": lambda r, a: r.get_att(a),
    "Fn::Join": lambda r, a: str(a[0]).join(str(r.resolve(p)) for p in r.resolve(a[1])),
    "Fn::Sub": lambda r, a: r.sub(a),
    "Fn::Select": lambda r, a: r.resolve(a[1])[int(r.resolve(a[0]))],
    "Fn::Split": lambda r, a: str(r.resolve(a[1])).split(a[0]),
    "Fn::FindInMap": lambda r, a: r.find_in_map(a),
    "Fn::If": lambda r, a: _unsupported("Fn::If"),
    "Fn::ImportValue": lambda r, a: _unsupported("Fn::ImportValue"),
    "Fn::GetAZs": lambda r, a: [f"{REGION}a", f"{REGION}b"],
}


def _unsupported(name: str) -> Any:
    raise NotImplementedError(f"{name} is not modelled")


def _references(value: Any) -> set[str]:
    """The logical ids ``value`` refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(item, str):
                    found |= _references(item[1])
            else:
                found |= _references(item)
    return found


def _is_custom(type_: str) -> bool:
    return type_.startswith("Custom::") or type_ == "AWS::CloudFormation::CustomResource"


def _needs_replacement(current: State, properties: dict[str, Any]) -> bool:
    replacing = REPLACING_PROPERTIES.get(current.type, set())
    return any(current.properties.get(p) != properties.get(p) for p in replacing)


def _attributes(type_: str, physical_id: str) -> dict[str, str]:
    service = type_.split("::")[1].lower()
    arn = f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical_id}"
    if type_ == "AWS::Lambda::Function":
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical_id}"
    attributes = {"Arn": arn}
    if type_ == "AWS::Batch::JobQueue":
        attributes["JobQueueArn"] = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{physical_id}"
    if type_ == "AWS::Batch::ServiceEnvironment":
        attributes["ServiceEnvironmentArn"] = (
            f"arn:aws:batch:{REGION}:{ACCOUNT}:service-environment/{physical_id}"
        )
    if type_ == "AWS::SageMaker::ModelPackage":
        attributes["ModelPackageArn"] = (
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{physical_id}"
        )
    if type_ == "AWS::SageMaker::ModelPackageGroup":
        attributes["ModelPackageGroupArn"] = (
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{physical_id}"
        )
    for name in ("GroupId", "RoleId", "VpcId", "DomainName", "ModelName", "EndpointName"):
        attributes[name] = f"{physical_id}-{name.lower()}"
    return attributes


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge matching, for patterns of value lists."""
    for key, expected in pattern.items():
        actual = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not _matches(expected, actual):
                return False
        elif actual not in expected:
            return False
    return True


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    transformer = target.get("InputTransformer")
    if transformer is None:
        return event
    text = transformer["InputTemplate"]
    for name, path in transformer.get("InputPathsMap", {}).items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        text = text.replace(f"<{name}>", json.dumps(value))
    return json.loads(text)
