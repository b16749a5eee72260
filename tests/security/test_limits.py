"""IAM limits that would fail a deploy fail the synth instead, naming the limit, the
count and the fix: managed policies per role (IAM's default quota of 10, raised by a
context key), inline policy characters per role, characters per managed policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs_lib import TrainingImage, TrainingInput, TrainingJob, TrainingOutput
from constructs_lib.security._limits import MANAGED_POLICIES_CONTEXT
from tests.flags import FLAG_SETS


def _shared_role_app(
    jobs: int, context: dict[str, Any] | None = None, *, user_policies: int = 0
) -> tuple[App, iam.Role]:
    """``jobs`` jobs sharing one role, to which the user attached ``user_policies``
    managed policies of their own."""
    app = App(context=context or {})
    stack = Stack(app, "Many")
    bucket = s3.Bucket(stack, "Data")
    role = iam.Role(stack, "Shared", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    for index in range(user_policies):
        role.add_managed_policy(
            iam.ManagedPolicy(
                stack,
                f"Own{index}",
                statements=[
                    iam.PolicyStatement(
                        actions=["s3:GetObject"], resources=[f"arn:aws:s3:::own-{index}/*"]
                    )
                ],
            )
        )
    image = TrainingImage.from_algorithm("kmeans")
    for index in range(jobs):
        TrainingJob(
            stack,
            f"Job{index}",
            image=image,
            inputs=[TrainingInput.from_bucket("train", bucket, f"data/{index}/")],
            output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
            role=role,
        )
    return app, role


def _managed_count(app: App) -> int:
    template = app.synth().get_stack_artifact("Many").template
    resources = template["Resources"]
    [role_id] = [
        k for k, v in resources.items() if k.startswith("Shared") and v["Type"] == "AWS::IAM::Role"
    ]
    arns = resources[role_id]["Properties"].get("ManagedPolicyArns", [])
    attached = [
        v
        for v in resources.values()
        if v["Type"] == "AWS::IAM::ManagedPolicy"
        and {"Ref": role_id} in v["Properties"].get("Roles", [])
    ]
    return len(arns) + len(attached)


def test_too_many_managed_policies_on_a_shared_role_fail_the_synth() -> None:
    # The user's 9 policies, the jobs' grants and the stack's shared execution policy.
    app, _ = _shared_role_app(10, user_policies=9)
    with pytest.raises(
        Exception,
        match=r"\[Many/Shared/Resource\] 11 managed policies are attached to the role: IAM "
        r"allows 10 per role \(the default quota; set the context key "
        r"constructs-lib:managedPoliciesPerRole if your account's quota is higher, up to 20\), "
        r"and the deploy would fail\. Of the 11: 1 holds the grants of the jobs that share the "
        r"role, 1 is the library's policy that every execution role of the stack carries "
        r"\(training logs, metrics, the ECR token\), 0 are overflow policies aws-cdk-lib made "
        r"for the role's inline policy, and 9 are the role's own\. Give the jobs "
        r"their own execution roles \(leave `role` unset\), or split the jobs across stacks\.",
    ):
        app.synth()


def test_a_raised_quota_lets_the_same_stack_synthesize() -> None:
    app, _ = _shared_role_app(10, {MANAGED_POLICIES_CONTEXT: 20}, user_policies=9)
    assert _managed_count(app) == 11  # what the check counted is what the template attaches


def test_below_the_quota_nothing_is_reported() -> None:
    app, _ = _shared_role_app(30)
    assert _managed_count(app) <= 10


@pytest.mark.parametrize("value", [9, 21, "many"])
def test_an_invalid_quota_is_an_error(value: object) -> None:
    app, _ = _shared_role_app(1, {MANAGED_POLICIES_CONTEXT: value})
    with pytest.raises(
        Exception, match=rf"context constructs-lib:managedPoliciesPerRole: {value!r} is invalid"
    ):
        app.synth()


def _big_document(statements: int) -> iam.PolicyDocument:
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"arn:aws:s3:::a-rather-long-bucket-name-{i:04d}/some/prefix/*"],
            )
            for i in range(statements)
        ]
    )


def _job_running_as(stack: Stack, role: iam.IRole) -> None:
    TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "Data"), "models/"),
        role=role,
    )


def test_an_oversized_inline_policy_on_a_given_role_fails_the_synth() -> None:
    app = App()
    stack = Stack(app, "Big")
    role = iam.Role(
        stack,
        "Given",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        inline_policies={"Big": _big_document(200)},
    )
    _job_running_as(stack, role)
    with pytest.raises(
        Exception,
        match=r"\[Big/Given/Resource\] the role's inline policies have \d{5} characters: IAM "
        r"allows 10240 per role",
    ):
        app.synth()


def test_an_oversized_managed_policy_on_a_given_role_fails_the_synth() -> None:
    app = App()
    stack = Stack(app, "Big")
    role = iam.Role(stack, "Given", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    role.add_managed_policy(iam.ManagedPolicy(stack, "Wide", document=_big_document(120)))
    _job_running_as(stack, role)
    with pytest.raises(
        Exception,
        match=r"\[Big/Wide/Resource\] the managed policy has \d{4,5} characters: IAM allows "
        r"6144 per managed policy",
    ):
        app.synth()


def _written(app: App, stack: str) -> tuple[int, int]:
    """(resources, bytes of the template file as written) of a synthesized stack."""
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack)
    path = Path(assembly.directory) / artifact.template_file
    return len(artifact.template["Resources"]), path.stat().st_size


def test_200_jobs_with_their_own_roles_fit_one_stack() -> None:
    app = App()
    stack = Stack(app, "Many")
    bucket = s3.Bucket(stack, "Data")
    image = TrainingImage.from_algorithm("kmeans")
    for index in range(200):
        TrainingJob(
            stack,
            f"Job{index}",
            image=image,
            inputs=[TrainingInput.from_bucket("train", bucket, f"data/{index}/")],
            output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
        )
    resources, size = _written(app, "Many")  # the IAM checks pass, or synth raises
    assert resources <= 500
    assert size < 1_000_000


def test_300_jobs_sharing_one_role_fit_the_default_quota() -> None:
    app, _ = _shared_role_app(300)
    assert _managed_count(app) <= 10
    resources, size = _written(app, "Many")
    assert resources <= 500 and size < 1_000_000


@pytest.mark.parametrize("flags", FLAG_SETS.values(), ids=FLAG_SETS.keys())
def test_a_template_past_cloudformations_limit_fails_the_synth(
    flags: dict[str, Any], tmp_path: Path
) -> None:
    # Five jobs of 100 hyperparameters of 2,500 characters: over 1,000,000 bytes as written.
    app = App(outdir=str(tmp_path), context=flags)
    stack = Stack(app, "Huge")
    bucket = s3.Bucket(stack, "Data")
    for index in range(5):
        TrainingJob(
            stack,
            f"Job{index}",
            image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
            hyperparameters={f"p{i:03d}": "x" * 2500 for i in range(100)},
        )
    with pytest.raises(Exception, match=r"The template Huge.template.json is \d+ bytes as written"):
        app.synth()
    size = (tmp_path / "Huge.template.json").stat().st_size
    report = json.loads((tmp_path / "validation-report.json").read_text())
    [violation] = [
        v
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == "constructs-lib-limits"
        for v in plugin["violations"]
    ]
    assert violation["ruleName"] == "template-size"
    assert violation["description"] == (
        f"The template Huge.template.json is {size} bytes as written: CloudFormation "
        "accepts 1000000 bytes (the CDK CLI uploads this file as it is), and the deploy "
        "would fail."
    )
    assert "Split the jobs across stacks" in violation["suggestedFix"]
    assert "suppress_template_indentation=True" in violation["suggestedFix"]


def test_a_template_within_the_limit_passes_the_size_check(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Small")
    TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "Data"), "models/"),
    )
    app.synth()
    report = tmp_path / "validation-report.json"
    assert not report.exists() or "constructs-lib-limits" not in report.read_text()


# -- a job's own role: known to the library until something else changes it --------


def _own_role_job(stack: Stack, prefixes: int = 1) -> TrainingJob:
    bucket = s3.Bucket(stack, "Data")
    return TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        inputs=[
            TrainingInput.from_bucket(f"c{index}", bucket, f"{index}-{'p' * 900}/")
            for index in range(prefixes)
        ],
        output=TrainingOutput.to_bucket(bucket, "models/"),
    )


def test_an_own_roles_oversized_grants_fail_the_synth() -> None:
    """Twenty channels under long prefixes: the job's own inline policy (which the
    library renders itself) is measured as it resolves."""
    app = App()
    job = _own_role_job(Stack(app, "Own"), prefixes=20)
    assert not job.role.changed_elsewhere  # type: ignore[attr-defined]
    with pytest.raises(
        Exception,
        match=r"\[Own/Job/ExecutionRole/Resource\] the role's inline policies have \d{5} "
        r"characters: IAM allows 10240 per role",
    ):
        app.synth()


@pytest.mark.parametrize("how", ["add_managed_policy", "ManagedPolicy(roles=...)"])
def test_managed_policies_you_attach_to_a_jobs_own_role_count(how: str) -> None:
    """Ten policies of yours and the library's shared execution policy: eleven. Through
    the role's own method (which the library notes) or through the policy's roles
    (which the stack-wide scan finds by the role's reference)."""
    app = App()
    stack = Stack(app, "Own")
    job = _own_role_job(stack)
    for index in range(10):
        statements = [
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"arn:aws:s3:::b{index}/*"])
        ]
        if how == "add_managed_policy":
            job.role.add_managed_policy(
                iam.ManagedPolicy(stack, f"Mine{index}", statements=statements)
            )
        else:
            iam.ManagedPolicy(stack, f"Mine{index}", statements=statements, roles=[job.role])
    assert job.role.changed_elsewhere is (how == "add_managed_policy")  # type: ignore[attr-defined]
    with pytest.raises(
        Exception,
        match=r"\[Own/Job/ExecutionRole/Resource\] 11 managed policies are attached to the role",
    ):
        app.synth()


def test_statements_you_add_to_a_jobs_own_role_count_toward_its_inline_limit() -> None:
    app = App()
    stack = Stack(app, "Own")
    job = _own_role_job(stack, prefixes=9)
    job.role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[f"arn:aws:s3:::{'x' * 60}-{i}/*" for i in range(40)],
        )
    )
    assert job.role.changed_elsewhere  # type: ignore[attr-defined]
    with pytest.raises(Exception, match=r"\[Own/Job/ExecutionRole/Resource\] the role's inline"):
        app.synth()


def test_an_own_role_within_the_limits_synthesizes_with_its_grants() -> None:
    app = App()
    _own_role_job(Stack(app, "Own"), prefixes=3)
    template = app.synth().get_stack_artifact("Own").template
    [role] = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
        and r["Properties"].get("Description", "").endswith("Own/Job")
    ]
    [policy] = role["Properties"]["Policies"]
    actions = [statement["Action"] for statement in policy["PolicyDocument"]["Statement"]]
    assert "s3:GetObject" in actions and "s3:ListBucket" in actions
    assert policy["PolicyDocument"]["Version"] == "2012-10-17"
