"""``constructs-lib preflight`` against an app's cloud assembly and an account's
SageMaker quotas (a fake of Service Quotas that botocore's model validates both ways):
ready, what lacks with the request that raises it, a quota the region does not list,
and a refused call named by its permission."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    InstanceType,
    ProcessingJob,
    ProcessingOutput,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
)
from constructs_lib.cli import main, preflight
from tests.aws_http import price_list_product
from tests.fakes import client_error, service_model, validate

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("assembly")
    app = App(outdir=str(outdir))
    stack = Stack(app, "Ml", env=Environment(account="123456789012", region=REGION))
    bucket = s3.Bucket(stack, "Data")
    image = TrainingImage.from_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com/p:1")
    for index in range(2):  # two jobs that run together
        TrainingJob(
            stack,
            f"Train{index}",
            image=image,
            output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
            instance_type=InstanceType.of("ml.g5.12xlarge"),
            instance_count=2,
        )
    ProcessingJob(
        stack,
        "Prepare",
        image=image,
        outputs=[ProcessingOutput.to_bucket("out", bucket, "prepared/")],
    )
    app.synth()
    return outdir


class _Pages:
    def __init__(self, quotas: FakeServiceQuotas, operation: str) -> None:
        self._quotas, self._operation = quotas, operation

    def paginate(self, **params: Any) -> Any:
        model = service_model("service-quotas").operation_model(self._operation)
        validate(model, params)
        self._quotas.calls.append(self._operation)
        if self._operation in self._quotas.refused:
            raise client_error("AccessDeniedException", "not allowed", self._operation)
        page = {"Quotas": self._quotas.pages[self._operation]}
        validate(model, page, output=True)
        yield page


class FakeServiceQuotas:
    """Service Quotas' SageMaker quotas: AWS's defaults and the applied values."""

    def __init__(self, defaults: dict[str, float], applied: dict[str, float]) -> None:
        self.calls: list[str] = []
        self.refused: set[str] = set()
        self.pages = {
            "ListAWSDefaultServiceQuotas": [self._quota(n, v) for n, v in defaults.items()],
            "ListServiceQuotas": [self._quota(n, v) for n, v in applied.items()],
        }

    @staticmethod
    def _quota(name: str, value: float) -> dict[str, Any]:
        code = f"L-{abs(hash(name)) % 10**8:08d}"
        return {
            "ServiceCode": "sagemaker",
            "QuotaName": name,
            "QuotaCode": code,
            "Value": value,
            "Adjustable": True,
        }

    def get_paginator(self, operation: str) -> _Pages:
        names = {
            "list_aws_default_service_quotas": "ListAWSDefaultServiceQuotas",
            "list_service_quotas": "ListServiceQuotas",
        }
        return _Pages(self, names[operation])


class FakeLambda:
    """Lambda's account settings (moto has none), validated by botocore's model."""

    def __init__(self, unreserved: int = 1000) -> None:
        self.unreserved = unreserved

    def get_account_settings(self, **params: Any) -> dict[str, Any]:
        model = service_model("lambda").operation_model("GetAccountSettings")
        validate(model, params)
        answer = {
            "AccountLimit": {
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": self.unreserved,
            }
        }
        validate(model, answer, output=True)
        return answer


class _PricePages:
    def __init__(self, pricing: FakePricing) -> None:
        self._pricing = pricing

    def paginate(self, **params: Any) -> Any:
        model = service_model("pricing").operation_model("GetProducts")
        validate(model, params)
        self._pricing.calls.append(params)
        if self._pricing.refused:
            raise client_error("AccessDeniedException", "not allowed", "GetProducts")
        filters = {f["Field"]: f["Value"] for f in params["Filters"]}
        items = [
            json.dumps(price_list_product(usage_type, usd))
            for (region, instance_type, usage_type), usd in self._pricing.listed.items()
            if region == filters["regionCode"] and instance_type == filters["instanceName"]
        ]
        # Two pages, as the Price List answers a long list.
        for page in ({"PriceList": items[:1], "NextToken": "more"}, {"PriceList": items[1:]}):
            page["FormatVersion"] = "aws_v1"
            validate(model, page, output=True)
            yield page


class FakePricing:
    """The AWS Price List's GetProducts (moto has none), validated by botocore's model:
    ``listed`` maps (region, instance type, usage type) to USD per hour."""

    def __init__(self, listed: dict[tuple[str, str, str], str]) -> None:
        self.listed = listed
        self.calls: list[dict[str, Any]] = []
        self.refused = False

    def get_paginator(self, operation: str) -> _PricePages:
        assert operation == "get_products"
        return _PricePages(self)


class _Clients:
    """Service Quotas', Lambda's and the Price List's fakes, and moto's SSM (where the
    CDK bootstrap says its version)."""

    def __init__(
        self, quotas: FakeServiceQuotas, unreserved: int = 1000, pricing: FakePricing | None = None
    ) -> None:
        import boto3  # noqa: PLC0415

        self.pricing = pricing or FakePricing({})
        self.servicequotas = quotas
        self.region = REGION
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.lambda_ = FakeLambda(unreserved)


@pytest.fixture(autouse=True)
def account() -> Iterator[None]:
    """An account bootstrapped at version 30 (moto's SSM)."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    with mock_aws():
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=BOOTSTRAP, Value="30", Type="String"
        )
        yield


BOOTSTRAP = "/cdk-bootstrap/hnb659fds/version"


def _run(
    assembly: Path,
    quotas: FakeServiceQuotas,
    unreserved: int = 1000,
    pricing: FakePricing | None = None,
) -> tuple[int, str]:
    out = io.StringIO()
    clients = _Clients(quotas, unreserved, pricing)
    options = preflight.Options(assembly=assembly, cost=pricing is not None)
    code = preflight.run(options, lambda _: clients, out)  # type: ignore[arg-type,return-value]
    return code, out.getvalue()


TRAINING = "ml.g5.12xlarge for training job usage"
PROCESSING = "ml.m5.xlarge for processing job usage"


def test_an_account_that_holds_the_app_is_ready(assembly: Path) -> None:
    quotas = FakeServiceQuotas({TRAINING: 0, PROCESSING: 4}, {TRAINING: 8})

    code, out = _run(assembly, quotas)

    assert code == preflight.EXIT_READY, out
    assert f"Ml: ready in {REGION} ({TRAINING}: 4, {PROCESSING}: 1)" in out


def test_a_quota_below_what_runs_at_once_is_named_with_its_request(assembly: Path) -> None:
    quotas = FakeServiceQuotas({TRAINING: 0, PROCESSING: 4}, {TRAINING: 2})

    code, out = _run(assembly, quotas)

    assert code == preflight.EXIT_LACKS
    [line] = out.splitlines()
    code_of = quotas.pages["ListServiceQuotas"][0]["QuotaCode"]
    assert line.startswith(f"Ml: '{TRAINING}' ({code_of}): the app needs 4 at once (Train0")
    assert "the account has 2." in line
    assert (
        "aws service-quotas request-service-quota-increase --service-code sagemaker "
        f"--quota-code {code_of} --desired-value 4"
    ) in line


def test_a_quota_the_region_does_not_list_is_said(assembly: Path) -> None:
    quotas = FakeServiceQuotas({PROCESSING: 4}, {})

    code, out = _run(assembly, quotas)

    assert code == preflight.EXIT_LACKS
    assert f"'{TRAINING}': the app needs 4 at once" in out
    assert "Service Quotas lists no such SageMaker quota in this region" in out


def test_a_refused_call_names_the_permission(
    assembly: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    quotas = FakeServiceQuotas({TRAINING: 8, PROCESSING: 4}, {})
    quotas.refused.add("ListAWSDefaultServiceQuotas")
    monkeypatch.setattr(
        "constructs_lib.cli._aws.clients_factory", lambda profile: lambda region: _Clients(quotas)
    )

    code = main(["preflight", "--assembly", str(assembly)])

    assert code == preflight.EXIT_ERROR
    assert "allow servicequotas:ListAWSDefaultServiceQuotas" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("5", "the CDK bootstrap of eu-west-1 is version 5; the deploy needs 6 or later"),
        (None, "the CDK bootstrap of eu-west-1 is missing (/cdk-bootstrap/hnb659fds/version"),
    ],
    ids=["old", "missing"],
)
def test_a_bootstrap_the_deploy_cannot_use_is_said(
    assembly: Path, version: str | None, said: str
) -> None:
    import boto3  # noqa: PLC0415

    ssm = boto3.client("ssm", region_name=REGION)
    if version is None:
        ssm.delete_parameter(Name=BOOTSTRAP)
    else:
        ssm.put_parameter(Name=BOOTSTRAP, Value=version, Type="String", Overwrite=True)
    quotas = FakeServiceQuotas({TRAINING: 8, PROCESSING: 4}, {})

    code, out = _run(assembly, quotas)

    assert code == preflight.EXIT_LACKS
    assert said in out and "cdk bootstrap aws://<account>/eu-west-1" in out
    assert "ready" not in out


def test_a_reservation_the_account_cannot_leave_room_for_is_said(assembly: Path) -> None:
    # The provider's function reserves 10 (its default max_concurrency); 105 unreserved
    # would leave 95, below the 100 Lambda keeps.
    quotas = FakeServiceQuotas({TRAINING: 8, PROCESSING: 4}, {})

    code, out = _run(assembly, quotas, unreserved=105)

    assert code == preflight.EXIT_LACKS
    assert "its functions reserve 10 concurrent executions, and the account leaves 105" in out
    assert "Lambda keeps 100 unreserved" in out
    assert _run(assembly, quotas, unreserved=110)[0] == preflight.EXIT_READY


def _vpc_app(outdir: Path, *, endpoint: bool, subnet_id: str | None = None) -> Path:
    """A training job in an isolated VPC of the template (with or without an S3
    gateway endpoint), or in the subnet ``subnet_id`` of an account's VPC."""
    from aws_cdk import aws_ec2 as ec2  # noqa: PLC0415

    app = App(outdir=str(outdir))
    stack = Stack(app, "Private", env=Environment(account="123456789012", region=REGION))
    bucket = s3.Bucket(stack, "Data")
    if subnet_id is None:
        vpc: ec2.IVpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=1,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        if endpoint:
            vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        subnets = None
    else:
        vpc = ec2.Vpc.from_vpc_attributes(
            stack, "Vpc", vpc_id="vpc-12345678", availability_zones=["eu-west-1a"]
        )
        subnets = ec2.SubnetSelection(
            subnets=[
                ec2.Subnet.from_subnet_attributes(
                    stack, "Subnet", subnet_id=subnet_id, availability_zone="eu-west-1a"
                )
            ]
        )
    TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com/p:1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        vpc=vpc,
        vpc_subnets=subnets,
    )
    app.synth()
    return outdir


ISOLATED = "reaches neither the internet nor S3"
QUOTAS = {"ml.m5.xlarge for training job usage": 4.0}


@pytest.mark.parametrize("endpoint", [False, True], ids=["no-endpoint", "s3-endpoint"])
def test_a_template_subnet_without_a_way_to_s3_is_said(tmp_path: Path, endpoint: bool) -> None:
    assembly = _vpc_app(tmp_path, endpoint=endpoint)

    code, out = _run(assembly, FakeServiceQuotas(QUOTAS, {}))

    if endpoint:
        assert code == preflight.EXIT_READY, out
    else:
        assert code == preflight.EXIT_LACKS
        assert "job Train" in out and ISOLATED in out and "add_gateway_endpoint" in out


@pytest.mark.parametrize("endpoint", [False, True], ids=["no-endpoint", "s3-endpoint"])
def test_an_account_subnet_is_read_from_ec2(tmp_path: Path, endpoint: bool) -> None:
    import boto3  # noqa: PLC0415

    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if endpoint:
        ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{REGION}.s3",
            VpcEndpointType="Gateway",
            RouteTableIds=[table],
        )
    assembly = _vpc_app(tmp_path, endpoint=False, subnet_id=subnet)

    code, out = _run(assembly, FakeServiceQuotas(QUOTAS, {}))

    if endpoint:
        assert code == preflight.EXIT_READY, out
    else:
        assert code == preflight.EXIT_LACKS
        assert f"subnet {subnet}, which {ISOLATED}" in out


def test_cost_prices_each_job_and_totals_the_worst_case(assembly: Path) -> None:
    quotas = FakeServiceQuotas({TRAINING: 8, PROCESSING: 4}, {})
    pricing = FakePricing(
        {
            (REGION, "ml.g5.12xlarge", "EU-Train:ml.g5.12xlarge"): "7.0900000000",
            # The same type served from an endpoint: not a training job's price.
            (REGION, "ml.g5.12xlarge", "EU-Host:ml.g5.12xlarge"): "9.9000000000",
            (REGION, "ml.m5.xlarge", "EU-Processing:ml.m5.xlarge"): "0.2580000000",
            ("us-east-1", "ml.m5.xlarge", "USE1-Processing:ml.m5.xlarge"): "0.2300000000",
        }
    )

    code, out = _run(assembly, quotas, pricing=pricing)

    assert code == preflight.EXIT_READY, out
    lines = out.splitlines()
    header = lines.index(f"Ml: worst case, on-demand prices of {REGION} (AWS Price List, USD):")
    jobs = [line for line in lines[header + 1 :] if line.startswith("  ")]
    train = [line for line in jobs if line.startswith("  Train")]
    # Each: 2 instances for the default max runtime (45 minutes, what the deploy
    # waits): 1.5 instance-hours at the training price, not the endpoint's.
    assert len(train) == 2
    assert all(
        line.endswith(
            "ml.g5.12xlarge training job, 2 instances for max runtime 45 min "
            "= 1.50 instance-hours x $7.09/h = $10.63"
        )
        for line in train
    ), train
    (prepare,) = (line for line in jobs if line.startswith("  Prepare"))
    assert "ml.m5.xlarge processing job, 1 instance for max runtime 45 min" in prepare
    assert prepare.endswith("= 0.75 instance-hours x $0.258/h = $0.19"), prepare
    assert lines[-1] == f"Ml: worst case ${2 * 1.5 * 7.09 + 0.75 * 0.258:,.2f}"
    # One call per instance type, in the stack's region.
    assert sorted(c["Filters"][1]["Value"] for c in pricing.calls) == [
        "ml.g5.12xlarge",
        "ml.m5.xlarge",
    ]


def test_cost_names_a_job_without_a_listed_price_and_leaves_it_out(assembly: Path) -> None:
    quotas = FakeServiceQuotas({TRAINING: 8, PROCESSING: 4}, {})
    pricing = FakePricing({(REGION, "ml.m5.xlarge", "EU-Processing:ml.m5.xlarge"): "0.258"})

    code, out = _run(assembly, quotas, pricing=pricing)

    assert code == preflight.EXIT_READY
    assert "the Price List has no on-demand price for it in this region" in out
    last = out.splitlines()[-1]
    assert last.startswith("Ml: worst case $0.19, not counting Train0")


def test_cost_refused_names_the_permission(
    assembly: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    quotas = FakeServiceQuotas({TRAINING: 8, PROCESSING: 4}, {})
    pricing = FakePricing({})
    pricing.refused = True
    monkeypatch.setattr(
        "constructs_lib.cli._aws.clients_factory",
        lambda profile: lambda region: _Clients(quotas, pricing=pricing),
    )

    assert main(["preflight", "--assembly", str(assembly)]) == preflight.EXIT_READY
    assert not pricing.calls  # without --cost, no price is read
    code = main(["preflight", "--assembly", str(assembly), "--cost"])

    assert code == preflight.EXIT_ERROR
    assert "allow pricing:GetProducts" in capsys.readouterr().err
