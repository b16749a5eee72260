"""A role's grants as one inline policy of the role itself, not a separate
``AWS::IAM::Policy`` resource: a job with its own execution role then costs two
resources (the role and the job), which lets hundreds of jobs share a stack."""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import IResolveContext
from aws_cdk import aws_iam as iam
from constructs import Construct

#: The name of the inline policy that holds a job's grants.
POLICY_NAME = "TrainingJobGrants"


class Statement:
    """An Allow statement the library wrote, held in Python: its actions, resources
    and conditions, rendered as aws-cdk-lib's ``PolicyStatement.toStatementJson``
    renders them. Once rendered by a synthesis it is frozen, as aws-cdk-lib freezes
    its statements: extending it then raises, and the caller starts another."""

    def __init__(
        self, actions: list[str], resources: list[str], conditions: dict[str, Any] | None
    ) -> None:
        self.frozen = False
        # Without repeats, in the order they came, as aws-cdk-lib keeps them.
        self.actions = list(dict.fromkeys(actions))
        self.resources = list(dict.fromkeys(resources))
        self.conditions: dict[str, Any] = {}
        for key, value in (conditions or {}).items():
            self.add_condition(key, value)

    def add_resources(self, *resources: str) -> None:
        self._thaw()
        self.resources.extend(r for r in dict.fromkeys(resources) if r not in self.resources)

    def add_condition(self, key: str, value: Any) -> None:
        """As ``PolicyStatement.addCondition``: a key's values merge, the new win."""
        self._thaw()
        existing = self.conditions.get(key)
        self.conditions[key] = {**existing, **value} if existing else value

    def _thaw(self) -> None:
        if self.frozen:
            raise RuntimeError("the statement was rendered by a synthesis: start another")

    def to_json(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {}
        action = _normalized(self.actions)
        if action is not None:
            rendered["Action"] = action
        if self.conditions:
            rendered["Condition"] = self.conditions
        rendered["Effect"] = "Allow"
        resource = _normalized(self.resources)
        if resource is not None:
            rendered["Resource"] = resource
        return rendered


def _normalized(values: list[str]) -> Any:
    """aws-cdk-lib's ``_norm``: none for no values, the value for one, else the list."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return list(values)


class InlineDocument(iam.PolicyDocument):
    """A job's own role's inline policy, held in Python and rendered at synth in one
    piece: each statement added to an ``iam.PolicyDocument`` is a crossing to the
    CDK's JavaScript side, several per job. It renders as aws-cdk-lib renders a
    document: the statements in the order they came, repeats removed, ``Version``
    last, nothing when empty. Where the app minimizes policies
    (``@aws-cdk/aws-iam:minimizePolicies``, which merges statements by aws-cdk-lib's
    own rules), its statements are handed to aws-cdk-lib at the first synthesis, which
    renders them."""

    def __init__(self, *, minimize: bool) -> None:
        super().__init__()
        self._entries: list[Statement | iam.PolicyStatement] = []
        self._minimize = minimize
        self._handed_over = False

    def add(self, statement: Statement | iam.PolicyStatement) -> None:
        """Add a statement (the library's, or one aws-cdk-lib made for a grant)."""
        self._entries.append(statement)
        if self._handed_over:
            super().add_statements(_cdk_statement(statement))

    def resolve(self, context: IResolveContext) -> Any:
        if self._minimize:
            if not self._handed_over:
                self._handed_over = True
                super().add_statements(*map(_cdk_statement, self._entries))
            return super().resolve(context)
        statements: list[dict[str, Any]] = []
        seen: set[str] = set()
        for entry in self._entries:
            if isinstance(entry, Statement):
                entry.frozen = True
                rendered = entry.to_json()
            else:
                rendered = entry.to_statement_json()
            key = json.dumps(rendered, sort_keys=True)
            if key not in seen:
                seen.add(key)
                statements.append(rendered)
        if not statements:
            return None
        return {"Statement": statements, "Version": "2012-10-17"}


def _cdk_statement(statement: Statement | iam.PolicyStatement) -> iam.PolicyStatement:
    if isinstance(statement, iam.PolicyStatement):
        return statement
    statement.frozen = True
    return iam.PolicyStatement(
        actions=statement.actions,
        resources=statement.resources,
        conditions=statement.conditions or None,
    )


@jsii.implements(iam.IPrincipal)
class InlinePolicyPrincipal:
    """The principal of ``role`` whose grants go into ``document``, an inline policy
    of the role (``iam.Role(inline_policies={POLICY_NAME: document})``). Everything
    else (trust, account, fragments) is the role's."""

    def __init__(self, role: iam.Role, document: InlineDocument) -> None:
        self.role = role
        self.document = document

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    @property
    def assume_role_action(self) -> str:
        return self.role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self.role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self.role.principal_account

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self.document.add(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.role)

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added


class OwnedRole(iam.Role):
    """A job's own execution role: its grants are its inline policy :data:`POLICY_NAME`
    (:attr:`inline_grants`, filled through :class:`InlinePolicyPrincipal`), and the library
    attaches :attr:`library_policies` to it. Until anything else changes its policies
    (your ``job.role.add_to_policy``, ``attach_inline_policy``, ``add_managed_policy``,
    a grant to the role itself: each reaches these overrides, from Python or from the
    CDK's JavaScript side), the library knows its policies without asking the CDK:
    :attr:`changed_elsewhere` says when it no longer does."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
        grants: InlineDocument,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            assumed_by=assumed_by,
            description=description,
            inline_policies={POLICY_NAME: grants},
        )
        self.inline_grants = grants
        self.library_policies: list[iam.IManagedPolicy] = []
        self.changed_elsewhere = False

    def attach_library_policy(self, policy: iam.IManagedPolicy) -> None:
        """Attach a managed policy of the library (known: it changes nothing elsewhere)."""
        iam.Role.add_managed_policy(self, policy)
        self.library_policies.append(policy)

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        self.changed_elsewhere = True
        super().add_managed_policy(policy)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        self.changed_elsewhere = True
        super().attach_inline_policy(policy)

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self.changed_elsewhere = True
        return super().add_to_principal_policy(statement)


def acknowledgment_scope(principal: Any) -> Any:
    """The construct on which to acknowledge findings about ``principal``'s grants:
    the role for an inline-policy principal, else the principal itself."""
    return principal.role if isinstance(principal, InlinePolicyPrincipal) else principal
