"""``constructs-lib preflight``: before a deploy, what the account lacks for an app,
read from its cloud assembly: the CDK bootstrap version its deploy needs, the Lambda
concurrency its functions reserve (the provider's) against what the account leaves
unreserved, whether its jobs in private subnets reach S3, and the SageMaker quotas
its jobs need at once (per instance type and usage) against the account's, each
shortfall with the request that raises it. With ``--cost``, also the deploy's worst
case: each job's instance-hours at most times its on-demand price in the AWS Price
List, and a total.

Exit status: 0 ready, 1 something lacks, 2 could not check (the missing permission
named)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._assembly import StackSource, WatchError, from_assembly
from ._aws import Clients, error_code
from ._cost import JobHours, worst_case
from ._needs import stack_needs
from ._network import unreachable_s3
from ._prices import on_demand_prices
from ._quotas import account_quotas, shortfalls

EXIT_READY, EXIT_LACKS, EXIT_ERROR = 0, 1, 2
#: What each check calls, for the message when AWS refuses it.
#: Lambda keeps this many executions unreserved in every account.
MIN_UNRESERVED = 100
_PERMISSIONS = {
    "GetParameter": "ssm:GetParameter",
    "GetAccountSettings": "lambda:GetAccountSettings",
    "DescribeSubnets": "ec2:DescribeSubnets",
    "DescribeRouteTables": "ec2:DescribeRouteTables",
    "DescribeVpcEndpoints": "ec2:DescribeVpcEndpoints",
    "ListAWSDefaultServiceQuotas": "servicequotas:ListAWSDefaultServiceQuotas",
    "ListServiceQuotas": "servicequotas:ListServiceQuotas",
    "GetProducts": "pricing:GetProducts",
}


@dataclass(frozen=True)
class Options:
    """What ``constructs-lib preflight`` was asked."""

    assembly: Path
    stacks: Sequence[str] = ()
    region: str | None = None
    profile: str | None = None
    #: Also print the deploy's worst case in instance-hours and dollars.
    cost: bool = False


def run(options: Options, clients_for: Callable[[str | None], Clients], out: IO[str]) -> int:
    """Check the assembly's stacks against the account; print what lacks; the exit
    status."""
    sources = from_assembly(options.assembly, list(options.stacks))
    lacking = 0
    for source in sources:
        assert source.template is not None
        region = options.region or source.region
        needs = stack_needs(source.template)
        if not needs:
            out.write(f"{source.display_name or source.name}: no SageMaker job\n")
            continue
        clients = clients_for(region)
        name = source.display_name or source.name
        try:
            problems = [
                problem
                for problem in (
                    _bootstrap_problem(source, clients),
                    _concurrency_problem(source.template, clients),
                )
                if problem is not None
            ]
            problems += [
                f"job {job} runs in subnet {subnet}, which reaches neither the internet "
                "nor S3: SageMaker could not download its data and code. Add an S3 "
                "gateway endpoint to the subnet's route table (vpc.add_gateway_endpoint"
                "(..., service=GatewayVpcEndpointAwsService.S3)); where the job's code "
                "calls the SageMaker API or CloudWatch Logs, their interface endpoints too"
                for job, subnet in unreachable_s3(source.template, clients.ec2)
            ]
            quotas = account_quotas(clients.servicequotas)
            cost = _cost_lines(name, source.template, clients) if options.cost else []
        except Exception as error:
            operation = str(getattr(error, "operation_name", ""))
            if error_code(error) in ("AccessDeniedException", "AccessDenied"):
                permission = _PERMISSIONS.get(operation, operation)
                raise WatchError(
                    f"AWS refused {operation}: allow {permission} to the credentials "
                    "preflight runs with"
                ) from error
            raise
        for problem in problems:
            out.write(f"{name}: {problem}\n")
        lacking += len(problems)
        short = shortfalls(needs, quotas)
        for shortfall in short:
            out.write(shortfall.line(name) + "\n")
        lacking += len(short)
        if not short and not problems:
            described = ", ".join(f"{n.quota_name}: {n.instances}" for n in needs)
            out.write(f"{name}: ready in {clients.region} ({described})\n")
        out.writelines(line + "\n" for line in cost)
    return EXIT_LACKS if lacking else EXIT_READY


def _bootstrap_problem(source: StackSource, clients: Clients) -> str | None:
    """What is wrong with the account's CDK bootstrap for the stack's deploy (None:
    nothing, or a stack that needs none)."""
    if source.bootstrap is None:
        return None
    required, parameter = source.bootstrap
    try:
        answer = clients.ssm.get_parameter(Name=parameter)
    except Exception as error:
        if error_code(error) != "ParameterNotFound":
            raise
        return (
            f"the CDK bootstrap of {clients.region} is missing ({parameter} does not "
            f"exist; the deploy needs version {required} or later): cdk bootstrap "
            f"aws://<account>/{clients.region}"
        )
    version = str(answer["Parameter"]["Value"])
    if not version.isdigit() or int(version) < required:
        return (
            f"the CDK bootstrap of {clients.region} is version {version}; the deploy needs "
            f"{required} or later: cdk bootstrap aws://<account>/{clients.region}"
        )
    return None


def _concurrency_problem(template: Mapping[str, Any], clients: Clients) -> str | None:
    """Whether the account leaves room for the executions the stack's functions
    reserve (the provider's ``max_concurrency``): Lambda refuses a reservation
    that leaves fewer than 100 unreserved (for a stack not deployed yet)."""
    reserved = sum(
        value
        for resource in (template.get("Resources") or {}).values()
        if resource.get("Type") == "AWS::Lambda::Function"
        and isinstance(
            value := (resource.get("Properties") or {}).get("ReservedConcurrentExecutions"), int
        )
    )
    if reserved == 0:
        return None
    limits = clients.lambda_.get_account_settings()["AccountLimit"]
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    if unreserved - reserved >= MIN_UNRESERVED:
        return None
    return (
        f"its functions reserve {reserved} concurrent executions, and the account leaves "
        f"{unreserved} unreserved in {clients.region} (of {limits['ConcurrentExecutions']}): "
        f"Lambda keeps {MIN_UNRESERVED} unreserved, so the deploy would fail. Request a "
        "higher Lambda 'Concurrent executions' quota in Service Quotas, or lower the "
        "provider's max_concurrency (TrainingJobProvider.configure)"
    )


def _cost_lines(name: str, template: Mapping[str, Any], clients: Clients) -> list[str]:
    """The stack's worst case: a line per job (instance-hours, price, dollars) and the
    total, which leaves out, and names, what is unbounded or has no listed price."""
    jobs = worst_case(template)
    prices = on_demand_prices(
        clients.pricing, clients.region, {(job.instance_type, job.usage) for job in jobs}
    )
    lines = [f"{name}: worst case, on-demand prices of {clients.region} (AWS Price List, USD):"]
    total = 0.0
    left_out: list[str] = []
    for job in jobs:
        price = prices.get((job.instance_type, job.usage))
        lines.append(f"  {_job_line(job, price)}")
        if job.instance_hours is None or price is None:
            left_out.append(job.logical_id)
        else:
            total += job.instance_hours * price
    said = f"{name}: worst case ${total:,.2f}"
    if left_out:
        said += f", not counting {', '.join(sorted(set(left_out)))} (above)"
    return [*lines, said]


def _job_line(job: JobHours, price: float | None) -> str:
    what = f"{job.logical_id}: {job.instance_type} {job.usage}, {job.bound}"
    if job.instance_hours is None:
        return f"{what}: no bound, so no worst case"
    hours = f"{job.instance_hours:,.2f} instance-hours"
    if price is None:
        return (
            f"{what} = {hours}; the Price List has no on-demand price for it in this "
            "region (is the instance type offered here for that usage?)"
        )
    dollars = job.instance_hours * price
    return f"{what} = {hours} x ${price:g}/h = ${dollars:,.2f}"
