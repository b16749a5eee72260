"""IAM limits that bite at deploy, checked at synth on the roles the library uses.

A stack whose execution role collects the grants of many jobs grows its inline
policy; aws-cdk-lib then moves the excess into overflow managed policies, silently,
until the role exceeds IAM's quota of managed policies per role and the deploy
fails. The check runs as a validation of the stack's provider: after aws-cdk-lib
has split the policies (prepare), before the template is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from constructs import IConstruct, IValidation

from .._shared.remembered import managed_policy_arn, role_arn
from .._shared.stacks import path_of, stack_of
from ._principal import POLICY_NAME, OwnedRole

#: Characters of all inline policies of one role (whitespace not counted).
MAX_INLINE_POLICY_CHARS = 10_240
#: Characters of one managed policy (whitespace not counted).
MAX_MANAGED_POLICY_CHARS = 6_144
#: IAM's default quota of managed policies attached to one role, and the most an
#: account can have it raised to.
DEFAULT_MANAGED_POLICIES_PER_ROLE = 10
MAX_MANAGED_POLICIES_PER_ROLE = 20
#: Context key for an account whose quota of managed policies per role was raised.
MANAGED_POLICIES_CONTEXT = "constructs-lib:managedPoliciesPerRole"

_FIX = (
    "Give the jobs their own execution roles (leave `role` unset), or split the jobs across stacks."
)


#: The construct id (and so the logical id's start) of the provider's policy that
#: every execution role of its stack carries.
SHARED_EXECUTION_POLICY = "SageMakerTrainingJobProviderExecutionPolicy"


def _role_facts(role: iam.CfnRole) -> dict[str, Any]:
    """What the check reads of a role's resource: its reference, its managed policies
    and its own inline policies (objects, not lists: resolving drops what is
    undefined)."""
    return {"ref": role.ref, "arns": role.managed_policy_arns, "own": role.policies}


def _path(construct: IConstruct) -> Callable[[], str]:
    """The construct's path, asked when a message needs it."""
    return lambda: construct.node.path


def _resource_path(role: OwnedRole) -> Callable[[], str]:
    """The path of an owned role's resource (``.../ExecutionRole/Resource``)."""
    return lambda: f"{path_of(role)}/Resource"


def _counted(number: int, singular: str, plural: str) -> str:
    """``1 is`` / ``2 are``: a count and its verb."""
    return f"{number} {singular if number == 1 else plural}"


def _chars(document: Any) -> int:
    """A policy's length as IAM counts it: without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


@jsii.implements(IValidation)
class IamLimits:
    """Validates the roles ``roles()`` returns against IAM's limits."""

    def __init__(self, scope: IConstruct, roles: Callable[[], Iterable[iam.IRole]]) -> None:
        self._scope = scope
        self._roles = roles

    def validate(self) -> list[str]:
        stack = stack_of(self._scope)
        quota, errors = self._quota(stack)
        roles: list[iam.CfnRole] = []
        known: list[OwnedRole] = []
        for candidate in self._roles():
            # A job's own role whose policies only the library changed is known
            # without asking the CDK for its resource (seven crossings per role).
            if isinstance(candidate, OwnedRole) and not candidate.changed_elsewhere:
                known.append(candidate)
                continue
            resource = candidate.node.default_child
            # A role imported by ARN has no resource here: its policies are not ours
            # to see.
            if isinstance(resource, iam.CfnRole):
                roles.append(resource)
        if not roles and not known:
            return errors
        policies = [c for c in stack.node.find_all() if isinstance(c, iam.CfnPolicy)]
        managed_policies = [c for c in stack.node.find_all() if isinstance(c, iam.CfnManagedPolicy)]
        # Everything read in one resolution: each crossing to the CDK's JavaScript side
        # costs, and a stack may hold hundreds of roles.
        resolved = stack.resolve(
            {
                # Objects, not lists: resolving drops what is undefined.
                "roles": [_role_facts(r) for r in roles],
                "known": [
                    {
                        "arn": role_arn(r),
                        "arns": [managed_policy_arn(m) for m in r.library_policies],
                        "own": [{"PolicyName": POLICY_NAME, "PolicyDocument": r.inline_grants}],
                    }
                    for r in known
                ],
                "policies": [{"document": p.policy_document, "roles": p.roles} for p in policies],
                "managed": [
                    {"ref": m.ref, "document": m.policy_document, "roles": m.roles}
                    for m in managed_policies
                ],
            }
        )
        checked: dict[str, tuple[Callable[[], str], list[Any], list[Any]]] = {}
        for role, read in zip(roles, resolved["roles"], strict=True):
            checked.setdefault(
                json.dumps(read["ref"]),
                (_path(role), read.get("arns") or [], read.get("own") or []),
            )
        for owned, facts in zip(known, resolved["known"], strict=True):
            # The role's ARN is its resource's Arn attribute, and its Ref the name.
            read = facts
            arn = read["arn"]
            if not (isinstance(arn, dict) and "Fn::GetAtt" in arn):
                # Not an attribute of this template's resource: read the role's
                # resource as any role's.
                resource = owned.node.default_child
                assert isinstance(resource, iam.CfnRole)
                read = stack.resolve(_role_facts(resource))
                resource_ref = read["ref"]
            else:
                resource_ref = {"Ref": arn["Fn::GetAtt"][0]}
            checked.setdefault(
                json.dumps(resource_ref),
                (_resource_path(owned), read.get("arns") or [], read.get("own") or []),
            )
        inline: dict[str, int] = {}
        managed: dict[str, list[str]] = {}
        attached_by_arn = {
            ref: {json.dumps(arn) for arn in arns} for ref, (_, arns, _) in checked.items()
        }
        for read in resolved["policies"]:
            size = _chars(read.get("document"))
            for ref in read.get("roles") or []:
                if json.dumps(ref) in checked:
                    inline[json.dumps(ref)] = inline.get(json.dumps(ref), 0) + size
        for construct, read in zip(managed_policies, resolved["managed"], strict=True):
            refs = [json.dumps(ref) for ref in read.get("roles") or []]
            ours = [ref for ref in refs if ref in checked]
            # Attached through a role's ManagedPolicyArns, or naming the role itself.
            name = json.dumps(read["ref"])
            by_arn = [ref for ref in attached_by_arn if name in attached_by_arn[ref]]
            if not ours and not by_arn:
                continue
            path = construct.node.path
            for ref in ours:
                managed.setdefault(ref, []).append(path)
            size = _chars(read.get("document"))
            if size > MAX_MANAGED_POLICY_CHARS:
                errors.append(
                    f"[{path}] the managed policy has {size} characters: "
                    f"IAM allows {MAX_MANAGED_POLICY_CHARS} per managed policy, and the "
                    "deploy would fail. Split its statements across policies. " + _FIX
                )
        for ref, (role_path, arns, own) in checked.items():
            errors.extend(
                self._role_errors(
                    role_path,
                    arns=arns,
                    own=own,
                    inline=inline.get(ref, 0),
                    attached=managed.get(ref, []),
                    quota=quota,
                )
            )
        return errors

    @staticmethod
    def _role_errors(
        path: Callable[[], str],
        *,
        arns: list[Any],
        own: list[Any],
        inline: int,
        attached: list[str],
        quota: int,
    ) -> list[str]:
        errors: list[str] = []
        # Resolved structs may come back in either casing.
        size = inline + sum(
            _chars(policy.get("PolicyDocument", policy.get("policyDocument"))) for policy in own
        )
        if size > MAX_INLINE_POLICY_CHARS:
            errors.append(
                f"[{path()}] the role's inline policies have {size} characters: IAM "
                f"allows {MAX_INLINE_POLICY_CHARS} per role, and the deploy would fail. " + _FIX
            )
        count = len(arns) + len(attached)
        if count > quota:
            listed = json.dumps(arns)
            grants = listed.count("TrainingJobGrants")
            shared = listed.count(SHARED_EXECUTION_POLICY)
            overflow = sum("OverflowPolicy" in policy for policy in attached)
            others = count - grants - shared - overflow
            whose = "the default quota" if quota == DEFAULT_MANAGED_POLICIES_PER_ROLE else "yours"
            errors.append(
                f"[{path()}] {count} managed policies are attached to the role: IAM "
                f"allows {quota} per role ({whose}; set the context key "
                f"{MANAGED_POLICIES_CONTEXT} if your account's quota is higher, up to "
                f"{MAX_MANAGED_POLICIES_PER_ROLE}), and the deploy would fail. Of the "
                f"{count}: {_counted(grants, 'holds', 'hold')} the grants of the jobs that "
                f"share the role, {_counted(shared, 'is', 'are')} the library's policy that "
                "every execution role of the stack carries (training logs, metrics, the ECR "
                f"token), {_counted(overflow, 'is an overflow policy', 'are overflow policies')} "
                f"aws-cdk-lib made for the role's inline policy, and "
                f"{_counted(others, 'is', 'are')} the role's own. " + _FIX
            )
        return errors

    def _quota(self, stack: Stack) -> tuple[int, list[str]]:
        value = stack.node.try_get_context(MANAGED_POLICIES_CONTEXT)
        if value is None:
            return DEFAULT_MANAGED_POLICIES_PER_ROLE, []
        try:
            quota = int(value)
        except (TypeError, ValueError):
            quota = -1
        if not DEFAULT_MANAGED_POLICIES_PER_ROLE <= quota <= MAX_MANAGED_POLICIES_PER_ROLE:
            return DEFAULT_MANAGED_POLICIES_PER_ROLE, [
                f"[{stack.node.path}] context {MANAGED_POLICIES_CONTEXT}: {value!r} is invalid: "
                f"IAM's quota of managed policies per role is between "
                f"{DEFAULT_MANAGED_POLICIES_PER_ROLE} (the default) and "
                f"{MAX_MANAGED_POLICIES_PER_ROLE}"
            ]
        return quota, []


#: CloudFormation's limit for a template body uploaded to S3, which is how the CDK
#: CLI deploys the file it wrote (indented JSON): bytes of that file.
MAX_TEMPLATE_BYTES = 1_000_000
PLUGIN_NAME = "constructs-lib-limits"
TEMPLATE_SIZE_RULE = "template-size"


@jsii.implements(IPolicyValidationPlugin)
class TemplateSize:
    """Fails the synth when a template the library added to grows past what
    CloudFormation accepts, measured on the file as written (only a written template
    has its final size: a validation plugin sees it)."""

    def __init__(self) -> None:
        #: Template file names of the stacks with a training job provider.
        self.watched: set[str] = set()

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str]:
        return [TEMPLATE_SIZE_RULE]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations = []
        for template in context.template_paths:
            path = Path(template)
            if path.name not in self.watched:
                continue
            size = path.stat().st_size
            if size > MAX_TEMPLATE_BYTES:
                violations.append(
                    PolicyViolation(
                        rule_name=TEMPLATE_SIZE_RULE,
                        description=(
                            f"The template {path.name} is {size} bytes as written: "
                            f"CloudFormation accepts {MAX_TEMPLATE_BYTES} bytes (the CDK CLI "
                            "uploads this file as it is), and the deploy would fail."
                        ),
                        fix=(
                            "Split the jobs across stacks (each job's request is in the "
                            "template), or write the template without indentation "
                            "(Stack(..., suppress_template_indentation=True))."
                        ),
                        severity="error",
                        violating_resources=[
                            PolicyViolatingResource(
                                resource_logical_id="(the whole template)",
                                template_path=template,
                                locations=[f"{size} bytes"],
                            )
                        ],
                    )
                )
        return PolicyValidationPluginReport(success=not violations, violations=violations)


# One plugin per app (kept alive with its app, so the app's id stays its own).
_PLUGINS: dict[int, tuple[IConstruct, TemplateSize]] = {}


def watch_template_size(stack: Stack) -> None:
    """Check the size of ``stack``'s template when the app is synthesized."""
    root = stack.node.root
    found = _PLUGINS.get(id(root))
    if found is None:
        plugin = TemplateSize()
        Validations.of(root).add_plugins(plugin)
        found = _PLUGINS[id(root)] = (root, plugin)
    found[1].watched.add(stack.template_file)
