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
        stack = Stack.of(self._scope)
        quota, errors = self._quota(stack)
        checked: dict[str, iam.CfnRole] = {}
        for candidate in self._roles():
            resource = candidate.node.default_child
            # A role imported by ARN has no resource here: its policies are not ours
            # to see.
            if isinstance(resource, iam.CfnRole):
                checked.setdefault(json.dumps(stack.resolve(resource.ref)), resource)
        if not checked:
            return errors
        inline: dict[str, int] = {}
        managed: dict[str, list[str]] = {}
        attached_by_arn = {
            ref: {json.dumps(arn) for arn in stack.resolve(role.managed_policy_arns) or []}
            for ref, role in checked.items()
        }
        for construct in stack.node.find_all():
            if isinstance(construct, iam.CfnPolicy):
                size = _chars(stack.resolve(construct.policy_document))
                for ref in stack.resolve(construct.roles) or []:
                    if json.dumps(ref) in checked:
                        inline[json.dumps(ref)] = inline.get(json.dumps(ref), 0) + size
            elif isinstance(construct, iam.CfnManagedPolicy):
                refs = [json.dumps(ref) for ref in stack.resolve(construct.roles) or []]
                ours = [ref for ref in refs if ref in checked]
                for ref in ours:
                    managed.setdefault(ref, []).append(construct.node.path)
                # Attached through a role's ManagedPolicyArns, or naming the role itself.
                itself = json.dumps(stack.resolve(construct.ref))
                ours += [ref for ref in attached_by_arn if itself in attached_by_arn[ref]]
                size = _chars(stack.resolve(construct.policy_document))
                if ours and size > MAX_MANAGED_POLICY_CHARS:
                    errors.append(
                        f"[{construct.node.path}] the managed policy has {size} characters: "
                        f"IAM allows {MAX_MANAGED_POLICY_CHARS} per managed policy, and the "
                        "deploy would fail. Split its statements across policies. " + _FIX
                    )
        for ref, role in checked.items():
            errors.extend(
                self._role_errors(stack, role, inline.get(ref, 0), managed.get(ref, []), quota)
            )
        return errors

    @staticmethod
    def _role_errors(
        stack: Stack, role: iam.CfnRole, inline: int, attached: list[str], quota: int
    ) -> list[str]:
        errors: list[str] = []
        path = role.node.path
        own = stack.resolve(role.policies) or []
        # Resolved structs may come back in either casing.
        size = inline + sum(
            _chars(policy.get("PolicyDocument", policy.get("policyDocument"))) for policy in own
        )
        if size > MAX_INLINE_POLICY_CHARS:
            errors.append(
                f"[{path}] the role's inline policies have {size} characters: IAM allows "
                f"{MAX_INLINE_POLICY_CHARS} per role, and the deploy would fail. " + _FIX
            )
        count = len(stack.resolve(role.managed_policy_arns) or []) + len(attached)
        if count > quota:
            arns = json.dumps(stack.resolve(role.managed_policy_arns) or [])
            grants = arns.count("TrainingJobGrants")
            shared = arns.count(SHARED_EXECUTION_POLICY)
            overflow = sum("OverflowPolicy" in policy for policy in attached)
            others = count - grants - shared - overflow
            whose = "the default quota" if quota == DEFAULT_MANAGED_POLICIES_PER_ROLE else "yours"
            errors.append(
                f"[{path}] {count} managed policies are attached to the role: IAM allows "
                f"{quota} per role ({whose}; set the context key {MANAGED_POLICIES_CONTEXT} "
                f"if your account's quota is higher, up to {MAX_MANAGED_POLICIES_PER_ROLE}), "
                "and the deploy would fail. Of the "
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
