"""What a role may do in a synthesized template: the statements of the policies
attached to it, of its own managed policies (children of the role: where jobs
sharing a role keep their grants; not the stack's shared execution policy) and of its
own inline policies (where a job's own role keeps its grants)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template


def role_statements(template: Template, stack: Stack, role: iam.IRole) -> list[dict[str, Any]]:
    role_ref = stack.resolve(role.role_name)
    documents = [
        policy["Properties"]["PolicyDocument"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
    ]
    resource = template.find_resources("AWS::IAM::Role").get(role_ref["Ref"], {})
    properties = resource.get("Properties", {})
    documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
    managed = template.find_resources("AWS::IAM::ManagedPolicy")
    documents += [
        managed[arn["Ref"]]["Properties"]["PolicyDocument"]
        for arn in properties.get("ManagedPolicyArns", [])
        if isinstance(arn, dict)
        and arn.get("Ref") in managed
        # A child of the role: its logical id extends the role's (hash dropped).
        and arn["Ref"].startswith(role_ref["Ref"][:-8])
    ]
    return [statement for document in documents for statement in document["Statement"]]
