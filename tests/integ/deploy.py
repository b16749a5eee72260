"""``make integ-deploy REGION=... [PROFILE=...] [TESTS="integ_training ..."]``: the
integration tests on your account, as integ-runner runs them. For each ``integ_*.py``:
synthesize it with the pinned CDK CLI, print its worst-case cost (instance-hours times
the documented on-demand prices of ``tests/integ/prices.py``), check the account with
``constructs-lib preflight`` (a lacking quota or bootstrap skips the test, named),
deploy its stacks and its assertion stack, read the assertions' results from the
assertion stack's outputs, and destroy everything it deployed, whatever happened.
Exit status 0 when every test passed.

(The CDK's integ-runner would do the same, but no release of it reads the cloud
assembly schema aws-cdk-lib 2.275 writes: see README "Proving it on your account".)"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.cli._cost import JobHours, deploy_wait, worst_case
from tests.integ import ROOT, apps, stack_templates
from tests.integ.prices import PRICES, PRICES_DATE, PRICES_REGION

#: Hours an endpoint may outlive the jobs: its creation, the assertions, the destroy.
ENDPOINT_MARGIN_HOURS = 1.0

Runner = Callable[[Sequence[str], dict[str, str]], subprocess.CompletedProcess[str]]


def _run(command: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with its output shown as it goes (a deploy takes minutes)."""
    print(f"$ {shlex.join(command)}", flush=True)
    return subprocess.run(list(command), cwd=ROOT, env=env, text=True, check=False)


@dataclass
class Outcome:
    """One integration test's run."""

    name: str
    cost: float
    passed: bool = False
    said: list[str] = field(default_factory=list)


def _endpoints(template: dict[str, Any]) -> list[tuple[str, str, int]]:
    """Each endpoint configuration's variants: (logical id, instance type, count)."""
    found: list[tuple[str, str, int]] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::SageMaker::EndpointConfig":
            continue
        for variant in (resource.get("Properties") or {}).get("ProductionVariants") or []:
            instance_type, count = variant.get("InstanceType"), variant.get("InitialInstanceCount")
            if isinstance(instance_type, str) and isinstance(count, int):
                found.append((logical_id, instance_type, count))
    return found


def worst_case_lines(templates: dict[str, dict[str, Any]]) -> tuple[float, list[str]]:
    """The test's worst case in USD at the documented prices, and a line per job and
    endpoint. An endpoint lives at most as long as the deploy waits for every job, one
    after another, plus :data:`ENDPOINT_MARGIN_HOURS`."""
    total = 0.0
    lines: list[str] = []
    waited = 0.0
    jobs: list[JobHours] = []
    for template in templates.values():
        resources = template.get("Resources") or {}
        found = worst_case(template)
        jobs += found
        waited += sum(
            (deploy_wait(resources, logical_id) or 0) / 3600
            for logical_id in {j.logical_id for j in found}
        )
    for job in jobs:
        price = PRICES.get((job.instance_type, job.usage))
        if job.instance_hours is None or price is None:
            raise ValueError(
                f"{job.logical_id}: {job.instance_type} {job.usage} has no bound or no "
                "documented price (tests/integ/prices.py): an integration test must have both"
            )
        cost = job.instance_hours * price
        total += cost
        lines.append(
            f"  {job.logical_id}: {job.instance_type} {job.usage}, {job.bound} = "
            f"{job.instance_hours:.2f} instance-hours x ${price:g}/h = ${cost:.2f}"
        )
    for template in templates.values():
        for logical_id, instance_type, count in _endpoints(template):
            price = PRICES.get((instance_type, "endpoint"))
            if price is None:
                raise ValueError(
                    f"{logical_id}: no documented price for an {instance_type} endpoint"
                )
            hours = count * (waited + ENDPOINT_MARGIN_HOURS)
            cost = hours * price
            total += cost
            lines.append(
                f"  {logical_id}: {instance_type} endpoint, {count} x (the jobs' waits "
                f"{waited:.2f} h + {ENDPOINT_MARGIN_HOURS:g} h) = {hours:.2f} instance-hours "
                f"x ${price:g}/h = ${cost:.2f}"
            )
    return total, lines


def assertion_failures(outputs: dict[str, dict[str, str]]) -> list[str]:
    """The assertions that failed or did not report, from ``cdk deploy
    --outputs-file``'s outputs (``AssertionResults...``: ``{"status": ...}``)."""
    failures: list[str] = []
    seen = 0
    for stack, values in outputs.items():
        for key, value in values.items():
            if not key.startswith("AssertionResults"):
                continue
            seen += 1
            try:
                result = json.loads(value)
            except ValueError:
                failures.append(f"{stack}.{key}: {value}")
                continue
            if result.get("status") != "success":
                failures.append(f"{stack}.{key}: {result.get('message', result)}")
    if not seen:
        failures.append("no assertion reported a result (the assertion stack's outputs)")
    return failures


def run_test(
    app: Path,
    *,
    region: str,
    profile: str | None,
    workdir: Path,
    run: Runner = _run,
    preflight: bool = True,
) -> Outcome:
    """Synthesize, price, check, deploy, assert and destroy one integration test."""
    name = app.stem
    assembly = workdir / name
    shutil.rmtree(assembly, ignore_errors=True)
    env = {**os.environ, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    profiled = ["--profile", profile] if profile else []
    cdk = ["npx", "--no-install", "cdk"]
    synth = run(
        [
            *cdk,
            "synth",
            "--quiet",
            "--app",
            f"{sys.executable} {app}",
            "--output",
            str(assembly),
            *profiled,
        ],
        env,
    )
    if synth.returncode != 0:
        return Outcome(name, 0.0, said=["synth failed"])
    cost, lines = worst_case_lines(stack_templates(assembly))
    print(f"{name}: worst case ${cost:.2f} at {PRICES_REGION}'s on-demand prices of {PRICES_DATE}")
    print("\n".join(lines), flush=True)
    outcome = Outcome(name, cost)
    if preflight:
        checked = run(
            [
                sys.executable,
                "-m",
                "constructs_lib",
                "preflight",
                "--assembly",
                str(assembly),
                "--region",
                region,
                *profiled,
            ],
            env,
        )
        if checked.returncode == 1:
            outcome.said.append("skipped: preflight found what the account lacks (above)")
            return outcome
        if checked.returncode != 0:
            outcome.said.append("preflight could not check the account (above)")
    outputs_file = assembly / "outputs.json"
    try:
        deployed = run(
            [
                *cdk,
                "deploy",
                "--app",
                str(assembly),
                "--all",
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
                *profiled,
            ],
            env,
        )
        if deployed.returncode != 0:
            outcome.said.append("deploy failed (above)")
        elif not outputs_file.exists():
            outcome.said.append("the deploy wrote no outputs")
        else:
            failures = assertion_failures(json.loads(outputs_file.read_text()))
            outcome.said += failures
            outcome.passed = not failures
    finally:
        destroyed = run(
            [*cdk, "destroy", "--app", str(assembly), "--all", "--force", *profiled], env
        )
        if destroyed.returncode != 0:
            outcome.passed = False
            outcome.said.append(
                "destroy failed (above): if the deploy created any of its stacks "
                f"({', '.join(stack_templates(assembly))}), delete them in the "
                "CloudFormation console"
            )
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make integ-deploy", description=__doc__)
    parser.add_argument("--region", required=True)
    parser.add_argument("--profile")
    parser.add_argument("--test", dest="tests", action="append", default=[], metavar="NAME")
    parser.add_argument("--skip-preflight", action="store_true")
    args = parser.parse_args(argv)
    chosen = [a for a in apps() if not args.tests or a.stem in args.tests]
    unknown = set(args.tests) - {a.stem for a in apps()}
    if unknown:
        parser.error(f"no such integration test: {', '.join(sorted(unknown))}")
    workdir = ROOT / "cdk.out.integ"
    outcomes = [
        run_test(
            app,
            region=args.region,
            profile=args.profile,
            workdir=workdir,
            preflight=not args.skip_preflight,
        )
        for app in chosen
    ]
    print("\nIntegration tests:")
    for outcome in outcomes:
        verdict = "PASSED" if outcome.passed else "FAILED"
        print(f"  {verdict}  {outcome.name} (worst case ${outcome.cost:.2f})")
        for line in outcome.said:
            print(f"      {line}")
    total = sum(o.cost for o in outcomes)
    print(
        f"Worst case of the run: ${total:.2f} ({PRICES_REGION} on-demand prices of {PRICES_DATE})"
    )
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
