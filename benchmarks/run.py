"""``make bench``: synth cost, template footprint, handler cost and validation cost,
each as a ratio or a count measured in one run (medians of repetitions), against the
targets of issues 9 and 16 (against aws-cdk-lib's Step Functions
``SageMakerCreateTrainingJob`` as the anchor), and the most jobs one stack takes, found
by synthesizing. Prints a table and writes ``benchmarks/results.json``.

Wall-clock numbers are noisy on a shared machine: compare the ratios, which are
measured side by side in the same run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import concurrency, feedback

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().with_name("results.json")
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def median_seconds(command: list[str], repetitions: int) -> float:
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=ENV, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- 1. synth time ------------------------------------------------------------


def synth_times(repetitions: int) -> dict[str, float]:
    """Medians of whole-process syntheses (Python and jsii start-up included, as a user
    pays them), the library's apps and the Step Functions anchor's interleaved in each
    round so that both see the same machine load."""
    apps = {
        "bare": ["-1"],
        "1 job": ["1"],
        "anchor, 1 task": ["1", "anchor"],
        "100 jobs": ["100"],
        "anchor, 100 tasks": ["100", "anchor"],
        "1 tuning job": ["1", "tuning"],
    }
    # The library's bytecode compiled first, as pip compiles an installed wheel's (a
    # checkout run with PYTHONDONTWRITEBYTECODE would compile it at every import).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "constructs_lib", "benchmarks"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repetitions):
        for name, arguments in apps.items():
            samples[name].append(
                median_seconds([sys.executable, "-m", "benchmarks.synth_app", *arguments], 1)
            )
    return {name: statistics.median(values) for name, values in samples.items()}


def round_trips() -> dict[str, Any]:
    """Round trips to the CDK's JavaScript side per further job, counted (in a process
    of its own: the counter wraps the jsii kernel)."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.round_trips", "21"],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    counted: dict[str, Any] = json.loads(result.stdout)
    return counted


# -- 1b. jobs per stack -----------------------------------------------------------


def _synthesizes(jobs: int, shared: bool) -> tuple[bool, str]:
    """Whether ``jobs`` jobs synthesize in one stack; else the limit that stopped it."""
    command = [sys.executable, "-m", "benchmarks.synth_app", str(jobs)]
    result = subprocess.run(
        [*command, *(["shared"] if shared else [])],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return True, ""
    text = result.stderr
    for marker, limit in (
        ("Number of resources", "CloudFormation's 500 resources per stack"),
        ("managed policies are attached", "IAM's 10 managed policies per role"),
        ("inline policies have", "IAM's 10,240 characters of inline policy per role"),
        ("the managed policy has", "IAM's 6,144 characters per managed policy"),
        ("bytes as written", "CloudFormation's 1,000,000-byte template"),
    ):
        if marker in text:
            return False, limit
    return False, text.strip().splitlines()[-1][:200] if text.strip() else "unknown"


def max_jobs_per_stack(shared: bool, low: int = 1, high: int = 600) -> dict[str, Any]:
    """The most jobs one stack takes, by bisection on real syntheses, and the limit
    that stops one more."""
    limit = ""
    while low < high:
        middle = (low + high + 1) // 2
        fits, why = _synthesizes(middle, shared)
        if fits:
            low = middle
        else:
            high, limit = middle - 1, why
    return {"jobs": low, "stopped by": limit}


# -- 2. template footprint ----------------------------------------------------


def footprint() -> dict[str, Any]:
    """Resources and template bytes as written (the indented file the CLI uploads)."""
    from benchmarks.synth_app import build

    def written(jobs: int, shared: bool) -> tuple[int, int]:
        app = build(jobs, shared_role=shared)
        assembly = app.synth()
        artifact = assembly.get_stack_artifact("Bench")
        path = Path(assembly.directory) / artifact.template_file
        return len(artifact.template["Resources"]), path.stat().st_size

    bare, one, two = written(-1, False), written(1, False), written(2, False)
    one_shared, two_shared = written(1, True), written(2, True)
    return {
        "resources added by the first job (provider included)": one[0] - bare[0],
        "resources per further job (own role)": two[0] - one[0],
        "resources per further job (shared role)": two_shared[0] - one_shared[0],
        "template bytes as written, per further job (own role)": two[1] - one[1],
        "template bytes as written, per further job (shared role)": two_shared[1] - one_shared[1],
        "template bytes as written, provider and first job": one[1] - bare[1],
    }


# -- 3. handler cost ----------------------------------------------------------


def handler_asset_bytes() -> int:
    """The handler's asset zipped: its modules and the service models it ships."""
    handler = ROOT / "constructs_lib" / "handler"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        shipped = [
            *handler.glob("*.py"),
            *(p for p in (handler / "models").rglob("*") if p.is_file()),
        ]
        for path in sorted(shipped):
            archive.write(path, f"handler/{path.relative_to(handler)}")
    return len(buffer.getvalue())


def promotion_modules_loaded() -> list[str]:
    """What of the promotion capabilities (issue 31) an app that uses none of them
    loads: nothing (the registry, the schedule, aws_scheduler, aws_sagemaker)."""
    code = (
        "import sys\n"
        "from aws_cdk import App, Stack\n"
        "from aws_cdk import aws_s3 as s3\n"
        "from constructs_lib import TrainingImage, TrainingJob, TrainingOutput\n"
        "stack = Stack(App(), 's')\n"
        "TrainingJob(stack, 'J', image=TrainingImage.from_algorithm('kmeans'),\n"
        "    output=TrainingOutput.to_bucket(s3.Bucket(stack, 'B'), 'm/'))\n"
        "print(','.join(m for m in ('aws_cdk.aws_scheduler', 'aws_cdk.aws_sagemaker',\n"
        "    'constructs_lib.schedule._schedule', 'constructs_lib.serving._registry')\n"
        "    if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=ENV, check=True, capture_output=True, text=True
    )
    return [m for m in out.stdout.strip().split(",") if m]


def import_times(repetitions: int) -> dict[str, float]:
    """Cold imports in fresh interpreters, the handler laid out as in its Lambda asset."""
    with tempfile.TemporaryDirectory(prefix="handler-asset-") as scratch:
        folder = Path(scratch)
        shutil.copytree(ROOT / "constructs_lib" / "handler", folder / "handler")
        return _cold_imports(folder, repetitions)


def _cold_imports(folder: Path, repetitions: int) -> dict[str, float]:
    """Each statement's median time in ``repetitions`` fresh interpreters that import
    the handler from ``folder``."""

    def cold(statement: str) -> float:
        code = (
            f"import sys, time; sys.path.insert(0, {str(folder)!r}); "
            f"t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        )
        samples = []
        for _ in range(repetitions):
            out = subprocess.run(
                [sys.executable, "-c", code], env=ENV, check=True, capture_output=True, text=True
            )
            samples.append(float(out.stdout.strip()))
        return statistics.median(samples)

    return {
        "import boto3": cold("import boto3"),
        "import handler.index": cold("import handler.index"),
        # A cold start's client: the runtime's full model, or the handler's shipped one.
        "boto3 SageMaker client": cold(
            "import boto3; boto3.client('sagemaker', region_name='us-east-1')"
        ),
        "handler SageMaker client": cold(
            "import os; os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1'); "
            "import handler.index as i; i.runtime()"
        ),
    }


def calls_per_job_hour() -> dict[str, dict[str, float]]:
    """DescribeTrainingJob calls and Lambda invocations of one deployment of a job
    that trains 45 minutes, per completion mode, on the harness's simulated clock;
    normalized per job-hour of training."""
    from constructs_lib.handler.properties import (
        COMPLETION,
        HANDLE_URL,
        JOB_NAME,
        POLL_INTERVAL,
        QUALITY_GATE,
        RESULT_RESOURCE_TYPE,
        SIGNAL_RESOURCE_TYPE,
    )
    from tests.fakes import FakeSageMaker
    from tests.harness import Framework
    from tests.lambda_handler.test_handler_lifecycle import properties

    runtime_seconds = 45 * 60
    hours = runtime_seconds / 3600

    def counted(
        extra: dict[str, Any], follow_up: Callable[[Framework, str], int]
    ) -> dict[str, float]:
        fake = FakeSageMaker()
        fake.plan.runtime = runtime_seconds
        framework = Framework(fake)
        response = framework.create({**properties(), **extra})
        # The provider's function: CloudFormation's invocation and its hand-overs.
        invocations = framework.invocations + follow_up(framework, response.physical_id)
        describes = len(fake.calls_of("DescribeTrainingJob"))
        return {
            "DescribeTrainingJob per job-hour": round(describes / hours, 1),
            "Lambda invocations per job-hour": round(invocations / hours, 1),
            "SageMaker calls per job-hour": round(len(fake.calls) / hours, 1),
        }

    def nothing(_: Framework, __: str) -> int:
        return 0

    def wait_condition(framework: Framework, name: str) -> int:
        # The job runs to its end; its state-change event invokes the signaller once,
        # the race check and the result read each run once.
        fake = framework.sagemaker
        fake.job(name).status = "Completed"
        fake.artifacts.add(fake.job(name).artifact)
        framework.runtime.put = lambda url, body: None
        framework.run(
            framework.event(
                "Create",
                {JOB_NAME: name, HANDLE_URL: "https://h"},
                ResourceType=SIGNAL_RESOURCE_TYPE,
            )
        )
        checked = framework.invocations
        framework.run(
            framework.event("Create", {JOB_NAME: name}, ResourceType=RESULT_RESOURCE_TYPE)
        )
        return checked + framework.invocations + 1  # and the signalling Lambda

    return {
        # The default poll interval of a 45-minute job: a 60th of it, rounded down
        # to the provider's 30 s.
        "wait (poll every 30 s, the default here)": counted({POLL_INTERVAL: "30"}, nothing),
        "wait (poll every 2 min)": counted({POLL_INTERVAL: "120"}, nothing),
        # Issue 31: a quality gate reads the description the poll already has.
        "wait with a quality gate (poll every 30 s)": counted(
            {POLL_INTERVAL: "30", QUALITY_GATE: [{"Metric": "validation:rmse", "AtMost": "1"}]},
            nothing,
        ),
        "wait_condition": counted({COMPLETION: "created"}, wait_condition),
        "none": counted({COMPLETION: "created"}, nothing),
    }


# -- 4. validation cost -------------------------------------------------------


def validation_cost(repetitions: int) -> dict[str, float]:
    from aws_cdk import App, Duration, Stack
    from aws_cdk import aws_s3 as s3

    from constructs_lib import TrainingImage, TrainingInput, TrainingOutput
    from constructs_lib._shared.schema.validate import Validator, cross_field_problems
    from constructs_lib.definition._image import ImageConfig
    from constructs_lib.definition._request import TrainingJobProps, render_request

    stack = Stack(App(), "Validation")
    bucket = s3.Bucket(stack, "Data")
    props = TrainingJobProps(
        image=TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1"),
        inputs=tuple(TrainingInput.from_bucket(f"c{i}", bucket, f"p{i}/") for i in range(20)),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={f"h{i}": str(i) for i in range(100)},
        tags={f"t{i}": "v" for i in range(46)},
    )
    image = ImageConfig({"TrainingImage": "uri"}, "uri", lambda grantee: None)
    runtime = Duration.minutes(45)
    request = render_request(
        props, role_arn="arn:aws:iam::1:role/r", default_runtime=runtime, image=image
    )
    validator = Validator()

    def render() -> None:
        render_request(
            props, role_arn="arn:aws:iam::1:role/r", default_runtime=runtime, image=image
        )

    def validate() -> None:
        full = {"TrainingJobName": "name", **request}
        validator.problems(full)
        cross_field_problems(full)

    render_time = min(timeit.repeat(render, number=20, repeat=repetitions)) / 20
    validate_time = min(timeit.repeat(validate, number=20, repeat=repetitions)) / 20
    return {"render (s)": render_time, "validate (s)": validate_time}


# -- report -------------------------------------------------------------------


def main() -> None:
    quick = "--quick" in sys.argv
    repetitions = 1 if quick else 3
    synth = synth_times(repetitions)
    imports = import_times(3 if quick else 7)
    validation = validation_cost(3 if quick else 7)
    lambda_per_hour = concurrency.per_job_hour()
    results: dict[str, Any] = {
        "synth seconds (median)": synth,
        "footprint": footprint(),
        "max jobs per stack": {
            "own role": max_jobs_per_stack(shared=False),
            "shared role": max_jobs_per_stack(shared=True),
        },
        "handler asset bytes": handler_asset_bytes(),
        "cold import seconds (median)": imports,
        "calls per job-hour": calls_per_job_hour(),
        "promotion modules loaded by an app without them": promotion_modules_loaded(),
        "validation seconds": validation,
        "jsii round trips": round_trips(),
        # Issue 29: the watch command, the local rehearsal, and what neither costs.
        "feedback loop": feedback.measure(quick),
        # Issue 32: waiting holds no Lambda concurrency.
        "Lambda per job-hour": lambda_per_hour,
        "300 jobs, concurrency 10": concurrency.three_hundred_jobs(lambda_per_hour),
    }
    ratios = {
        "1 job / bare app (synth)": (synth["1 job"] / synth["bare"], 1.15),
        "100 jobs / anchor with 100 tasks (synth)": (
            synth["100 jobs"] / synth["anchor, 100 tasks"],
            1.0,
        ),
        "1 job / anchor with 1 task (synth)": (synth["1 job"] / synth["anchor, 1 task"], 1.0),
        "100 jobs / 1 job (synth)": (synth["100 jobs"] / synth["1 job"], 1.5),
        "1 tuning job / 1 training job (synth)": (synth["1 tuning job"] / synth["1 job"], None),
        "1 tuning job / bare app (synth)": (synth["1 tuning job"] / synth["bare"], None),
        "handler import / import boto3": (
            imports["import handler.index"] / imports["import boto3"],
            1.2,
        ),
        "handler's SageMaker client (shipped model) / boto3's (cold)": (
            imports["handler SageMaker client"] / imports["boto3 SageMaker client"],
            None,
        ),
        "handler asset KB": (results["handler asset bytes"] / 1000, 50.0),
        "execution-seconds per job-second waiting (300 jobs, wait mode)": (
            results["300 jobs, concurrency 10"]["execution-seconds per job-second of waiting"],
            0.05,
        ),
        "resources per further job, shared role": (
            results["footprint"]["resources per further job (shared role)"],
            3,
        ),
        "validate / render (large request)": (
            validation["validate (s)"] / validation["render (s)"],
            None,
        ),
    }
    results["targets"] = {
        name: {
            "value": round(value, 3),
            "target": target,
            "pass": target is None or value <= target,
        }
        for name, (value, target) in ratios.items()
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")

    print(f"{'measure':45} {'value':>10} {'target':>8}  result")
    for name, row in results["targets"].items():
        target = "-" if row["target"] is None else f"<= {row['target']}"
        verdict = "report" if row["target"] is None else ("PASS" if row["pass"] else "MISS")
        print(f"{name:45} {row['value']:>10} {target:>8}  {verdict}")
    print()
    for name, value in results["footprint"].items():
        print(f"{name:60} {value}")
    for kind, found in results["max jobs per stack"].items():
        print(f"max jobs per stack ({kind}): {found['jobs']}, stopped by {found['stopped by']}")
    print()
    for side, counted in results["jsii round trips"].items():
        print(
            f"jsii round trips per further job ({side}): "
            f"{counted['round trips per further job (build)']} to build, "
            f"{counted['round trips per further job (synth)']} to synthesize"
        )
    for mode, counts in results["calls per job-hour"].items():
        print(f"{mode:40} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for mode, counts in results["Lambda per job-hour"].items():
        print(f"{mode:40} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    print(
        "300 jobs, concurrency 10: "
        + ", ".join(f"{k}: {v}" for k, v in results["300 jobs, concurrency 10"].items())
    )
    print()
    for name, values in results["feedback loop"].items():
        shown = ", ".join(
            f"{k}: {round(v, 3) if isinstance(v, float) else v}" for k, v in values.items()
        )
        print(f"{name}: {shown}")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
