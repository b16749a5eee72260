"""Deployable where guardrails are enforced: AWS's Control Tower proactive-control rules
(the cfn-guard policy-validation plugin) and checkov, on (a) the sample app, (b) a
stack using every feature with ``TrainingJobProvider.configure(vpc, key, tracing)``
and (c) the same stack without configure; permissions boundaries on every role;
what configure builds and refuses.

The library's own resources must have no finding left: fixed, or acknowledged with a
reason where each tool reads acknowledgments. The user's resources (this module's
fixtures) are deliberately left unacknowledged: their findings must remain, proving
the tools ran and that the library acknowledges nothing of the user's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    TrainingImage,
    TrainingJob,
    TrainingJobProvider,
    TrainingOutput,
    TrainingQueue,
)
from constructs_lib.provider import ENDPOINT_SERVICES, ENDPOINTS_WARNING_ID
from sample_app.app import build_app
from tests.every_job import JOBS, add_every_job
from tests.flags import FLAG_SETS
from tests.guardrails import Report, run_all

STACK = "Everything"
LIBRARY = {"SageMakerTrainingJobProvider", *JOBS}


def _is_library(path: str) -> bool:
    """Whether a construct path (or a checkov resource path) is the library's."""
    parts = path.split("/")
    return len(parts) > 1 and parts[1] in LIBRARY


def _path(finding: str) -> str:
    return finding.split(" @ ", 1)[1]


def everything(*, configured: bool) -> Callable[[App], Stack]:
    """A stack using every feature: VPC jobs with KMS keys, spot, checkpoints, a
    wait-condition job (so the signaller and its queue exist), ECR and asset images,
    data assets; with ``configured``, the provider in the VPC with the key and
    tracing (and the endpoints its functions need)."""

    def build(app: App) -> Stack:
        stack = Stack(app, STACK)
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        data = s3.Bucket(stack, "Data", encryption_key=key, enforce_ssl=True, versioned=True)
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        if configured:
            for service in TrainingJobProvider.endpoint_services(tracing=True, queues=True):
                vpc.add_interface_endpoint(service.short_name, service=service)
            TrainingJobProvider.configure(
                stack,
                vpc=vpc,
                encryption_key=key,
                tracing=True,
                log_retention=logs.RetentionDays.TWO_YEARS,
            )
        add_every_job(stack, data=data, key=key, vpc=vpc)
        return stack

    return build


def _template(report: Report) -> dict[str, Any]:
    return report.templates[f"{STACK}.template.json"]


#: (a) the sample's variants.
SAMPLE_VARIANTS: dict[str, dict[str, str]] = {
    "sample": {},
    "guardrails": {"sample:guardrails": "true"},
    "long-job": {"sample:completion": "wait_condition"},
    "tuning": {"sample:tuning": "true", "sample:guardrails": "true"},
    "script": {"sample:training": "script", "sample:guardrails": "true"},
    "promote": {"sample:promote": "true", "sample:guardrails": "true"},
    "pipeline": {"sample:pipeline": "true", "sample:guardrails": "true"},
}


@pytest.fixture(scope="module")
def all_reports() -> dict[tuple[str, str], Report]:
    """Every app of this module's gates, by (flag set, app): the sample's variants,
    and (b) and (c), without feature flags and with those cdk init writes;
    synthesized one by one, checked by one checkov run over all their templates."""
    apps: dict[tuple[str, str], tuple[Callable[[App], object], dict[str, Any]]] = {}
    for flag_set, flags in FLAG_SETS.items():
        for variant, context in SAMPLE_VARIANTS.items():
            apps[(flag_set, variant)] = (build_app, {**context, **flags})
        apps[(flag_set, "configured")] = (everything(configured=True), flags)
        apps[(flag_set, "defaults")] = (everything(configured=False), flags)
    return dict(zip(apps, run_all(list(apps.values())), strict=True))


@pytest.fixture(scope="module", params=FLAG_SETS.keys())
def reports(
    request: pytest.FixtureRequest, all_reports: dict[tuple[str, str], Report]
) -> dict[str, Report]:
    """(b) and (c) of one flag set."""
    return {stack: all_reports[(request.param, stack)] for stack in ("configured", "defaults")}


# -- (a) the sample ------------------------------------------------------------------


@pytest.mark.parametrize("flag_set", FLAG_SETS.keys())
@pytest.mark.parametrize("variant", SAMPLE_VARIANTS.keys())
def test_sample_passes_control_tower_rules_and_checkov(
    all_reports: dict[tuple[str, str], Report], flag_set: str, variant: str
) -> None:
    report = all_reports[(flag_set, variant)]
    assert report.findings == []
    assert report.skipped, "checkov ran on nothing"
    assert [s for s in report.skipped if not s[2].strip()] == []  # each with its reason


# -- (b) and (c): the library's resources ----------------------------------------------


@pytest.mark.parametrize("stack", ["configured", "defaults"])
def test_no_finding_on_the_library_resources(reports: dict[str, Report], stack: str) -> None:
    report = reports[stack]
    assert [f for f in report.findings if _is_library(_path(f))] == []
    # The tools ran and found the user's own (unacknowledged) resources...
    assert any("checkov CKV_AWS_18 @ Everything/Data" in f for f in report.findings)
    # ...and the library acknowledged nothing of theirs.
    assert [s for s in report.skipped if not _is_library(s[1])] == []
    assert [s for s in report.skipped if not s[2].strip()] == []


def test_without_configure_the_findings_are_acknowledged_with_reasons(
    reports: dict[str, Report],
) -> None:
    skipped = {(check, path.split("/")[1]) for check, path, _ in reports["defaults"].skipped}
    # Log groups, functions outside a VPC, the handler without a dead-letter queue,
    # the waiting state machine without tracing (the Control Tower rule's; checkov
    # has no such check): acknowledged. No function has an
    # environment to encrypt (CKV_AWS_173): the handler finds its state machine by
    # name; each function has a reserved concurrency (CKV_AWS_115 met).
    for check in ("CKV_AWS_158", "CKV_AWS_117", "CKV_AWS_116"):
        assert (check, "SageMakerTrainingJobProvider") in skipped
    for check in ("CKV_AWS_173", "CKV_AWS_115"):
        assert (check, "SageMakerTrainingJobProvider") not in skipped
    # The VPC job's own execution role: ENI permission deletion needs "*".
    assert ("CKV_AWS_109", "Long") in skipped
    reasons = {reason for check, _, reason in reports["defaults"].skipped if check == "CKV_AWS_109"}
    assert reasons == {
        "ec2:DeleteNetworkInterfacePermission names a permission id, not a resource a "
        "policy can scope: IAM requires '*'."
    }


def test_configure_fixes_instead_of_acknowledging(reports: dict[str, Report]) -> None:
    report = reports["configured"]
    fixed = {"CKV_AWS_158", "CKV_AWS_117", "CKV_AWS_173"}
    assert {check for check, _, _ in report.skipped} & fixed == set()
    resources = _template(report)["Resources"]
    library = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if _is_library(resource.get("Metadata", {}).get("aws:cdk:path", ""))
    }

    def of_type(kind: str) -> list[dict[str, Any]]:
        return [r["Properties"] for r in library.values() if r["Type"] == kind]

    key = {"Fn::GetAtt": [next(k for k in resources if k.startswith("Key")), "Arn"]}
    groups = of_type("AWS::Logs::LogGroup")
    assert len(groups) == 3  # the handler's, the signaller's, the state machine's
    assert all(g["KmsKeyId"] == key and g["RetentionInDays"] == 731 for g in groups)
    functions = of_type("AWS::Lambda::Function")
    assert len(functions) == 2  # the handler, the signaller
    for function in functions:
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert function["KmsKeyArn"] == key
        assert len(function["VpcConfig"]["SubnetIds"]) == 2
    [machine] = of_type("AWS::StepFunctions::StateMachine")
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["EncryptionConfiguration"]["KmsKeyId"] == key
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    [queue] = of_type("AWS::SQS::Queue")
    assert queue["KmsMasterKeyId"] == key
    [group] = of_type("AWS::EC2::SecurityGroup")[:1]
    assert [rule["FromPort"] for rule in group["SecurityGroupEgress"]] == [443]


def test_the_key_lets_cloudwatch_logs_of_this_account_and_region_use_it(
    reports: dict[str, Report],
) -> None:
    resources = _template(reports["configured"])["Resources"]
    [key] = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    [logs_statement] = [s for s in statements if '"logs.' in json.dumps(s.get("Principal", {}))]
    assert "kms:GenerateDataKey*" in logs_statement["Action"]
    condition = json.dumps(logs_statement["Condition"]["ArnLike"])
    assert "kms:EncryptionContext:aws:logs:arn" in condition and "log-group:*" in condition


# -- permissions boundaries ---------------------------------------------------------------


@pytest.mark.parametrize("configured", [True, False], ids=["configured", "defaults"])
def test_a_permissions_boundary_reaches_every_role(configured: bool) -> None:
    app = App(context={"aws:cdk:enable-path-metadata": True})
    stack = everything(configured=configured)(app)
    boundary = iam.ManagedPolicy(
        stack,
        "Boundary",
        statements=[iam.PolicyStatement(actions=["*"], resources=["*"])],
    )
    iam.PermissionsBoundary.of(stack).apply(boundary)
    roles = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    library_roles = {
        logical_id: role
        for logical_id, role in roles.items()
        if _is_library(role["Metadata"]["aws:cdk:path"])
    }
    # Execution roles (8: five training jobs, one of them queued, a tuning job, the
    # script job's repack job, a processing job), the handler's, the signaller's, the
    # state machine's.
    assert len(library_roles) == 11
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == {
            "Ref": stack.get_logical_id(
                boundary.node.default_child  # type: ignore[arg-type]
            )
        }


# -- configure ----------------------------------------------------------------------------


def _job(stack: Stack, construct_id: str = "Train") -> TrainingJob:
    bucket = stack.node.try_find_child("Data") or s3.Bucket(stack, "Data")
    return TrainingJob(
        stack,
        construct_id,
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(bucket, "models/"),  # type: ignore[arg-type]
    )


def test_configure_after_a_job_names_what_created_the_provider() -> None:
    stack = Stack(App(), "Late")
    _job(stack)
    with pytest.raises(
        ValueError,
        match=r"^\[Late/SageMakerTrainingJobProvider\] TrainingJobProvider.configure: "
        r"configure\(tracing=True\) is invalid: the stack's provider already exists, built "
        r"with the defaults \(no configure\) for Late/Train\. Configure the provider once, "
        r"before the stack's first TrainingJob\.",
    ):
        TrainingJobProvider.configure(stack, tracing=True)


def test_configure_twice_differently_names_both() -> None:
    stack = Stack(App(), "Twice")
    key = kms.Key(stack, "Key")
    first = TrainingJobProvider.configure(stack, encryption_key=key)
    assert TrainingJobProvider.configure(stack, encryption_key=key) is first
    with pytest.raises(
        ValueError,
        match=r"configure\(tracing=True\) is invalid: the stack's provider already exists, "
        r"built with configure\(encryption_key=Twice/Key\) for TrainingJobProvider.configure "
        r"at Twice\.",
    ):
        TrainingJobProvider.configure(stack, tracing=True)
    assert _job(stack).provider is first


def test_max_concurrency_reserves_the_handlers_concurrency_or_none() -> None:
    app = App()
    capped, unreserved = Stack(app, "Capped"), Stack(app, "Unreserved")
    TrainingJobProvider.configure(capped, max_concurrency=25)
    TrainingJobProvider.configure(unreserved, max_concurrency=None)
    _job(capped), _job(unreserved)

    def reserved(stack: Stack) -> dict[str, Any]:
        functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
        return {
            f["Properties"]["Handler"]: f["Properties"].get("ReservedConcurrentExecutions")
            for f in functions.values()
        }

    assert reserved(capped) == {"handler.index.handle": 25}
    assert reserved(unreserved) == {"handler.index.handle": None}
    # No reservation: checkov's CKV_AWS_115 is acknowledged, saying why.
    [handler] = Template.from_stack(unreserved).find_resources("AWS::Lambda::Function").values()
    skipped = {s["id"] for s in handler["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_115" in skipped
    assert "max_concurrency=None" in TrainingJobProvider.of(unreserved).options.describe()


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "10"])
def test_max_concurrency_refuses_what_lambda_cannot_reserve(value: Any) -> None:
    stack = Stack(App(), "Cap")
    with pytest.raises(
        ValueError,
        match=r"^\[Cap\] TrainingJobProvider.configure: max_concurrency: .* is invalid: a "
        r"whole number of at least 1 \(the handler's reserved concurrency\), or None",
    ):
        TrainingJobProvider.configure(stack, max_concurrency=value)


def test_configure_refuses_subnets_without_a_vpc() -> None:
    stack = Stack(App(), "NoVpc")
    with pytest.raises(ValueError, match=r"vpc: None is invalid: vpc_subnets and security_groups"):
        TrainingJobProvider.configure(
            stack, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        )


def _provider_warnings(stack: Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning(
        "/Net/SageMakerTrainingJobProvider", Match.string_like_regexp(ENDPOINTS_WARNING_ID)
    )
    return [str(w.entry.data) for w in found]


@pytest.mark.parametrize(
    ("nat", "endpoints", "missing"),
    [
        (False, [], "sagemaker.api, ec2, cloudformation, states, s3"),
        (False, ["sagemaker.api", "ec2", "cloudformation", "states", "s3"], None),
        (True, [], None),
    ],
    ids=["isolated", "isolated-with-endpoints", "with-nat"],
)
def test_isolated_subnets_without_endpoints_warn_naming_them(
    nat: bool, endpoints: list[str], missing: str | None, queued: bool = False
) -> None:
    stack = Stack(App(), "Net")
    subnet = ec2.SubnetType.PRIVATE_WITH_EGRESS if nat else ec2.SubnetType.PRIVATE_ISOLATED
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1 if nat else 0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="fn", subnet_type=subnet),
            *(
                [ec2.SubnetConfiguration(name="pub", subnet_type=ec2.SubnetType.PUBLIC)]
                if nat
                else []
            ),
        ],
    )
    services = {s.short_name: s for s in TrainingJobProvider.endpoint_services(queues=True)}
    for name in endpoints:
        if name == "s3":
            vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        else:
            vpc.add_interface_endpoint(name.replace(".", ""), service=services[name])
    TrainingJobProvider.configure(stack, vpc=vpc)
    _job(stack)
    if queued:
        bucket = stack.node.find_child("Data")
        TrainingJob(
            stack,
            "Queued",
            image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(bucket, "queued/"),  # type: ignore[arg-type]
            queue=TrainingQueue(stack, "Queue", max_instances=1),
        )
    warnings = _provider_warnings(stack)
    if missing is None:
        assert warnings == []
    else:
        [warning] = warnings
        assert f"this app defines no VPC endpoint there for: {missing}." in warning


@pytest.mark.parametrize(
    ("endpoints", "missing"),
    [
        (["sagemaker.api", "ec2", "cloudformation", "states", "s3"], "batch"),
        (["sagemaker.api", "ec2", "cloudformation", "states", "s3", "batch"], None),
    ],
    ids=["without-batch", "with-batch"],
)
def test_a_queued_job_needs_batchs_endpoint_too(endpoints: list[str], missing: str | None) -> None:
    test_isolated_subnets_without_endpoints_warn_naming_them(False, endpoints, missing, queued=True)


def test_endpoint_services_are_those_the_warning_checks() -> None:
    interface = [s.short_name for s in TrainingJobProvider.endpoint_services(tracing=True)]
    assert [*interface[:-1], "s3"] == list(ENDPOINT_SERVICES)
    assert interface[-1] == "xray"
    queued = [s.short_name for s in TrainingJobProvider.endpoint_services(queues=True)]
    assert queued == [*interface[:-1], "batch"]
