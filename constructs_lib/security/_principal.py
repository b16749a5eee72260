"""A role's grants as one inline policy of the role itself, not a separate
``AWS::IAM::Policy`` resource: a job with its own execution role then costs two
resources (the role and the job), which lets hundreds of jobs share a stack."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import aws_iam as iam

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
        self._document.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.role)

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added


def acknowledgment_scope(principal: Any) -> Any:
    """The construct on which to acknowledge findings about ``principal``'s grants:
    the role for an inline-policy principal, else the principal itself."""
    return principal.role if isinstance(principal, InlinePolicyPrincipal) else principal
