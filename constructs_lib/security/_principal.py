"""A role's grants as one inline policy of the role itself, not a separate
``AWS::IAM::Policy`` resource: a job with its own execution role then costs two
resources (the role and the job), which lets hundreds of jobs share a stack."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import jsii
from aws_cdk import aws_iam as iam
from constructs import Construct

#: The name of the inline policy that holds a job's grants.
POLICY_NAME = "TrainingJobGrants"


@jsii.implements(iam.IPrincipal)
class InlinePolicyPrincipal:
    """The principal of ``role`` whose grants go into ``document``, an inline policy
    of the role (``iam.Role(inline_policies={POLICY_NAME: document})``). Everything
    else (trust, account, fragments) is the role's."""

    def __init__(self, role: iam.Role, document: iam.PolicyDocument) -> None:
        self.role = role
        self._document = document
        #: Statements added while held (:func:`held`), not yet in the document.
        self._pending: list[iam.PolicyStatement] = []

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
        if _held is None:
            self._document.add_statements(statement)
        else:
            if not self._pending:
                _held.append(self)
            self._pending.append(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.role)

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self._document.add_statements(*pending)


#: The principals with statements held, while a :func:`held` block runs.
_held: list[InlinePolicyPrincipal] | None = None


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold the statements added to inline-policy principals inside, and add each
    principal's to its document in one call at the end, in the order they came (a job
    adds several; each call crosses to the CDK's JavaScript side)."""
    global _held  # noqa: PLW0603 - one block at a time, within one construct's init
    if _held is not None:
        yield
        return
    _held = []
    try:
        yield
    finally:
        principals, _held = _held, None
        for principal in principals:
            principal._flush()


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
        grants: iam.PolicyDocument,
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
