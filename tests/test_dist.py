"""What users install: the sdist and wheel that ``make dist`` builds, their metadata,
and the wheel installed into a fresh virtualenv outside the checkout, synthesizing
the README's example and every image kind, data assets, a VPC job with KMS keys and
each completion mode from there.

The editable install the other tests use hides missing package data; these tests see
only the built artifact. One build and one virtualenv serve the whole run.
"""

from __future__ import annotations

import contextlib
import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from trove_classifiers import classifiers as known_classifiers

import constructs_lib
from constructs_lib.definition import _algorithms as algorithms

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HANDLER_TYPE = "Custom::SageMakerTrainingJob"


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, **kwargs
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing that points into the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` (as ``make dist``): the sdist, and the wheel built from it,
    from a copy of the project's files only, as a clean clone has them. (A stale
    ``*.egg-info`` of the checkout would add files the configuration forgot.)"""
    source = tmp_path_factory.mktemp("clone")
    listed = _run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT
    ).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], env=_clean_env())
    return out


@pytest.fixture(scope="session")
def wheel(dist: Path) -> Path:
    [found] = dist.glob("*.whl")
    return found


def _user_venv(folder: Path, requirement: str) -> Path:
    """A fresh virtualenv in ``folder`` with ``pip install <requirement>``: its Python."""
    venv = folder / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    interpreter = venv / "bin" / "python"
    _run(
        [
            str(interpreter),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            # Python compiles what the user's app imports when it first does; pip's
            # compiling all of aws-cdk-lib up front is most of the install's time.
            "--no-compile",
            requirement,
        ],
        env=_clean_env(),
    )
    return interpreter


@pytest.fixture(scope="session")
def python(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel and its runtime dependencies, nothing else."""
    return _user_venv(tmp_path_factory.mktemp("user"), str(wheel))


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory outside the checkout, where the user's app lives."""
    folder = tmp_path_factory.mktemp("app")
    assert ROOT not in folder.parents
    return folder


@pytest.fixture(scope="session")
def report(python: Path, work: Path) -> dict[str, Any]:
    script = work / "installed_app.py"
    shutil.copy(ROOT / "tests" / "installed_app.py", script)
    out = work / "report.json"
    _run([str(python), str(script), str(ROOT), str(work), str(out)], cwd=work, env=_clean_env())
    found: dict[str, Any] = json.loads(out.read_text())
    return found


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


# -- the artifacts ---------------------------------------------------------------


def test_wheel_holds_every_data_file_of_the_package(wheel: Path) -> None:
    # Every non-Python file of the package (schema, algorithm table, py.typed,
    # anything added later) is read at run time or declares something: all ship.
    tracked = _run(["git", "ls-files", "constructs_lib"], cwd=ROOT).stdout.split()
    data = {path for path in tracked if not path.endswith(".py")}
    assert {
        "constructs_lib/py.typed",
        "constructs_lib/definition/_algorithms/builtin_algorithms.json",
    } <= data
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert data - shipped == set()
    # And every module: the handler's files make the provider's Lambda asset.
    modules = {path for path in tracked if path.endswith(".py")}
    assert modules - shipped == set()


def test_metadata_users_expect_on_an_index(wheel: Path) -> None:
    metadata = _metadata(wheel)
    assert metadata["Name"] == "constructs-lib"
    assert metadata["Version"] == constructs_lib.__version__
    assert "SageMaker training jobs" in metadata["Summary"]
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# constructs-lib")
    assert metadata.get_all("Project-URL")
    requires = sorted(
        re.split(r"[<>=]", r)[0]
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    )
    assert requires == ["aws-cdk-lib", "constructs"]
    classifiers = metadata.get_all("Classifier") or []
    for wanted in (
        "Framework :: AWS CDK :: 2",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.11",
    ):
        assert wanted in classifiers
    # A package index refuses unknown classifiers.
    assert [c for c in classifiers if c not in known_classifiers] == []


def test_twine_check_passes(dist: Path) -> None:
    files = sorted(str(path) for path in dist.iterdir())
    assert len(files) == 2  # sdist and wheel
    _run([sys.executable, "-m", "twine", "check", "--strict", *files])


def test_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert f"## {constructs_lib.__version__}" in (ROOT / "CHANGELOG.md").read_text()


# -- the installed package ---------------------------------------------------------


def test_the_installed_package_is_the_wheel_not_the_checkout(
    report: dict[str, Any], python: Path
) -> None:
    package = Path(report["package_file"])
    assert package.is_relative_to(python.parent.parent)  # the virtualenv's site-packages
    assert not package.is_relative_to(ROOT)
    assert [p for p in report["sys_path"] if p and Path(p).resolve() == ROOT] == []
    assert report["checkout_packages"] == []
    assert report["version"] == constructs_lib.__version__


def test_readme_example_runs_from_the_wheel(python: Path, work: Path) -> None:
    example = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)[0]
    script = work / "readme_example.py"
    script.write_text(example)
    out = work / "readme.out"
    _run([str(python), str(script)], cwd=work, env=_clean_env(CDK_OUTDIR=str(out)))
    [template] = out.glob("*.template.json")
    resources = json.loads(template.read_text())["Resources"].values()
    assert [r["Type"] for r in resources].count(HANDLER_TYPE) == 1
    assert "AWS::SageMaker::Model" in {r["Type"] for r in resources}


def test_readme_script_mode_example_runs_from_the_wheel(python: Path, work: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    [example] = [
        block
        for block in blocks
        if "TrainingCode.from_directory" in block
        and "inference_container(" in block
        and "ProcessingJob" not in block
    ]
    # The example trains the sample's code, at its path relative to the checkout.
    shutil.copytree(ROOT / "sample_app" / "code", work / "sample_app" / "code", dirs_exist_ok=True)
    script = work / "readme_script_mode.py"
    script.write_text(example)
    out = work / "readme-script.out"
    _run([str(python), str(script)], cwd=work, env=_clean_env(CDK_OUTDIR=str(out)))
    [template] = out.glob("*.template.json")
    resources = json.loads(template.read_text())["Resources"].values()
    [job] = [r for r in resources if r["Type"] == HANDLER_TYPE]
    request = job["Properties"]["TrainingJobRequest"]
    assert request["HyperParameters"]["n-estimators"] == "200"
    [model] = [r for r in resources if r["Type"] == "AWS::SageMaker::Model"]
    environment = model["Properties"]["PrimaryContainer"]["Environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "train.py"


def test_readme_pipeline_example_runs_from_the_wheel(python: Path, work: Path) -> None:
    """README "Prepare and evaluate": prepare, train, evaluate with a gated report,
    register with the report, from the installed wheel."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    [example] = [block for block in blocks if "EvaluationReport(" in block]
    for folder in ("code", "pipeline"):
        shutil.copytree(
            ROOT / "sample_app" / folder, work / "sample_app" / folder, dirs_exist_ok=True
        )
    script = work / "readme_pipeline.py"
    script.write_text(example)
    out = work / "readme-pipeline.out"
    _run([str(python), str(script)], cwd=work, env=_clean_env(CDK_OUTDIR=str(out)))
    [template] = out.glob("*.template.json")
    resources = json.loads(template.read_text())["Resources"]
    processing = {
        k: r["Properties"]
        for k, r in resources.items()
        if r["Type"] == "Custom::SageMakerProcessingJob"
    }
    assert sorted(k[: -len("75E8D311")] for k in processing) == ["Evaluate", "Prepare"]
    [evaluate] = [p for k, p in processing.items() if k.startswith("Evaluate")]
    assert evaluate["QualityGate"] == [{"Metric": "mse", "AtMost": 25}]
    [package] = [r for r in resources.values() if r["Type"] == "AWS::SageMaker::ModelPackage"]
    assert "ModelQuality" in package["Properties"]["ModelMetrics"]


def _jobs(report: dict[str, Any], stack: str) -> dict[str, dict[str, Any]]:
    resources = report["templates"][stack]["Resources"]
    return {
        logical_id: resource["Properties"]["TrainingJobRequest"]
        for logical_id, resource in resources.items()
        if resource["Type"] == HANDLER_TYPE
    }


def _image(request: dict[str, Any]) -> str:
    return json.dumps(request["AlgorithmSpecification"]["TrainingImage"])


def test_every_image_kind_synthesizes_from_the_wheel(report: dict[str, Any]) -> None:
    regional = {k[:-8]: v for k, v in _jobs(report, "Regional").items()}
    [agnostic] = _jobs(report, "Agnostic").values()
    # The algorithm table (package data) resolved the image for the region...
    table = algorithms.load()
    xgboost = table["algorithms"]["xgboost"]["versions"]["1.7-1"]
    account = table["registries"][xgboost["registries"]]["eu-west-1"]
    assert _image(regional["Algorithm"]) == (
        f'"{account}.dkr.ecr.eu-west-1.amazonaws.com/{xgboost["repository"]}:1.7-1"'
    )
    # ...or as a mapping of the table's registries for a region-agnostic stack.
    assert "Fn::FindInMap" in _image(agnostic)
    [mapping] = report["templates"]["Agnostic"]["Mappings"].values()
    registries = table["registries"][xgboost["registries"]]
    assert mapping == {region: {"account": a} for region, a in registries.items()}
    assert "Repository" in _image(regional["Ecr"]) and ":v1" in _image(regional["Ecr"])
    assert "cdk-hnb659fds-container-assets" in _image(regional["Docker"])
    assert _image(regional["Registry"]) == '"public.ecr.aws/acme/train:1"'
    [channel] = regional["DataAsset"]["InputDataConfig"]
    assert "cdk-hnb659fds-assets" in json.dumps(channel["DataSource"])


def test_vpc_job_with_keys_synthesizes_from_the_wheel(report: dict[str, Any]) -> None:
    [request] = _jobs(report, "Network").values()
    assert len(request["VpcConfig"]["Subnets"]) == 2
    assert "Key" in json.dumps(request["ResourceConfig"]["VolumeKmsKeyId"])
    assert "Key" in json.dumps(request["OutputDataConfig"]["KmsKeyId"])


def test_each_completion_mode_synthesizes_from_the_wheel(report: dict[str, Any]) -> None:
    resources = report["templates"]["Modes"]["Resources"]
    modes = {
        logical_id[:-8]: resource["Properties"].get("CompletionMode", "wait")
        for logical_id, resource in resources.items()
        if resource["Type"] == HANDLER_TYPE
    }
    assert modes == {"Wait": "wait", "WaitCondition": "created", "None": "created"}
    types = [resource["Type"] for resource in resources.values()]
    assert types.count("AWS::CloudFormation::WaitCondition") == 1
    assert types.count("Custom::SageMakerTrainingJobResult") == 1


def test_a_tuning_job_synthesizes_from_the_wheel(report: dict[str, Any]) -> None:
    """The tuning schema (package data) ships: the request was validated against it."""
    resources = report["templates"]["Tuned"]["Resources"]
    [tuning] = [
        r for r in resources.values() if r["Type"] == "Custom::SageMakerHyperparameterTuningJob"
    ]
    config = tuning["Properties"]["TuningJobRequest"]["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4


def test_a_queued_job_synthesizes_from_the_wheel(report: dict[str, Any]) -> None:
    """A queue (service environment, fair-share policy, job queue) and a job through
    it, waiting for AWS Batch's event."""
    resources = report["templates"]["Queued"]["Resources"]
    types = sorted(r["Type"] for r in resources.values() if r["Type"].startswith("AWS::Batch"))
    assert types == [
        "AWS::Batch::JobQueue",
        "AWS::Batch::SchedulingPolicy",
        "AWS::Batch::ServiceEnvironment",
    ]
    [job] = [r for r in resources.values() if r["Type"] == HANDLER_TYPE]
    assert job["Properties"]["ServiceJobQueue"]["ShareIdentifier"] == "vision"
    assert job["Properties"]["CompletionMode"] == "created"
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert [r["Properties"]["EventPattern"]["source"] for r in rules] == [["aws.batch"]]


def test_script_mode_and_serving_synthesize_from_the_wheel(report: dict[str, Any]) -> None:
    """The framework table, the code packing and the repack job's code ship."""
    jobs = {k[:-8]: v for k, v in _jobs(report, "Script").items()}
    training = jobs["Script"]
    assert _image(training) == (
        '"763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-gpu-py311"'
    )
    hyperparameters = training["HyperParameters"]
    assert hyperparameters["epochs"] == "3" and hyperparameters["sagemaker_program"] == '"train.py"'
    [repack] = [v for k, v in jobs.items() if k.startswith("ScriptRepack")]
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in _image(repack)
    # Each job's sagemaker_submit_directory names its staged archive (asset.<hash>...).
    members = {
        role: next(
            members
            for name, members in report["archives"].items()
            if name.split(".")[1] in json.dumps(request["HyperParameters"])
        )
        for role, request in (("training", training), ("repack", repack))
    }
    assert members == {"training": ["serve.py", "train.py"], "repack": ["repack.py"]}
    # Without the optional alpha package, import works and model_data says what to do.
    assert report["alpha_installed"] is False
    assert (
        "pip install 'aws-cdk.aws-sagemaker-alpha==<aws-cdk-lib version>a0'"
        in (report["alpha_message"])
    )


def test_handler_asset_holds_the_handler_files_and_nothing_else(
    report: dict[str, Any], wheel: Path
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        handler_files = sorted(
            name.removeprefix("constructs_lib/")
            for name in archive.namelist()
            if name.startswith("constructs_lib/handler/")
        )
    assert "handler/index.py" in handler_files
    assert "handler/models/sagemaker/2017-07-24/service-2.json.gz" in handler_files
    # The asset lists its folders too (handler/models/...).
    folders = {str(parent) for name in handler_files for parent in PurePosixPath(name).parents} - {
        "."
    }
    # One asset, shared by every stack's provider (same content, same hash).
    assert report["handler_assets"] == [sorted({*folders, *handler_files})]


@contextlib.contextmanager
def _moto_server() -> Iterator[dict[str, str]]:
    """moto's server on a local port: the environment that points a user's boto3 at it
    (test credentials, us-east-1)."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        server.stop()


@pytest.fixture(scope="session")
def python_with_extras(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtualenv with ``pip install 'constructs-lib[cli,local]'`` of the wheel."""
    return _user_venv(tmp_path_factory.mktemp("user-extras"), f"{wheel}[cli,local]")


def test_the_extras_give_the_watch_command_and_the_rehearsal(
    python_with_extras: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m constructs_lib watch --assembly cdk.out --once`` from the installed
    wheel, on the sample's assembly, against moto's server: before the deploy (nothing
    started: 3), then with its job started by the handler and completed (0)."""
    from aws_cdk import App  # noqa: PLC0415 - the checkout's, to synthesize the sample

    from sample_app.app import build_app  # noqa: PLC0415
    from tests.moto_stack import MotoStack  # noqa: PLC0415

    found = _run(
        [
            str(python_with_extras),
            "-c",
            "import boto3, rich, sagemaker_training; "
            "from constructs_lib.testing import run_locally, LocalRun; print('ok')",
        ],
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert found.stdout.strip() == "ok"
    assembly = tmp_path / "cdk.out"
    context = {"sample:region": "us-east-1", "aws:cdk:enable-path-metadata": True}
    build_app(App(outdir=str(assembly), context=context)).synth()
    with _moto_server() as aws:
        for key, value in aws.items():
            monkeypatch.setenv(key, value)
        command = [
            str(python_with_extras),
            "-m",
            "constructs_lib",
            "watch",
            "--assembly",
            str(assembly),
            "--once",
        ]

        def watch() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                command,
                cwd=tmp_path,
                env=_clean_env(**aws),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        before = watch()
        assert before.returncode == 3, before.stdout + before.stderr
        assert "TrainAndServe  not deployed yet" in before.stdout
        assert "  Train  not started" in before.stdout

        stack = MotoStack.of(assembly, "TrainAndServe").create("CREATE_COMPLETE")
        name = stack.start("Train")
        after = watch()
        assert after.returncode == 0, after.stdout + after.stderr
        assert f"  Train  {name}  Completed" in after.stdout


def test_the_preflight_console_script_checks_an_account(
    python_with_extras: Path, tmp_path: Path
) -> None:
    """The installed wheel's ``constructs-lib preflight --cost`` on the sample's assembly,
    over the wire: moto's server for SSM (the CDK bootstrap), a local endpoint for
    what moto lacks (Service Quotas, Lambda's account settings, the Price List), each
    request validated by botocore's model. A spot quota of 0 lacks (1, with the
    request that raises it); once raised, ready (0) with the worst case priced."""
    import boto3  # noqa: PLC0415
    from aws_cdk import App  # noqa: PLC0415

    from sample_app.app import build_app  # noqa: PLC0415
    from tests.aws_http import AccountAnswers, account_endpoint, price_list_product  # noqa: PLC0415

    assembly = tmp_path / "cdk.out"
    build_app(App(outdir=str(assembly), context={"sample:region": "us-east-1"})).synth()
    spot = "ml.m5.xlarge for spot training job usage"
    answers = AccountAnswers(
        default_quotas={spot: ("L-2A1A4D0B", 0.0)},
        products={
            ("us-east-1", "ml.m5.xlarge"): [
                price_list_product("USE1-Train:ml.m5.xlarge", "0.2300000000"),
                price_list_product("USE1-Host:ml.m5.xlarge", "0.2300000000"),
            ]
        },
    )
    with _moto_server() as aws:
        boto3.client(
            "ssm",
            region_name="us-east-1",
            endpoint_url=aws["AWS_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
        command = [
            str(python_with_extras.parent / "constructs-lib"),
            "preflight",
            "--assembly",
            str(assembly),
            "--cost",
        ]
        with account_endpoint(answers) as endpoints:

            def preflight() -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    command,
                    cwd=tmp_path,
                    env=_clean_env(**aws, **endpoints),
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )

            lacking = preflight()
            answers.applied_quotas = {spot: ("L-2A1A4D0B", 2.0)}
            ready = preflight()

    assert not [call for call in answers.calls if call.startswith("refused")], answers.calls
    assert lacking.returncode == 1, lacking.stdout + lacking.stderr
    assert (
        f"TrainAndServe: '{spot}' (L-2A1A4D0B): the app needs 1 at once (Train"
    ) in lacking.stdout
    assert "--quota-code L-2A1A4D0B --desired-value 1" in lacking.stdout
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert f"TrainAndServe: ready in us-east-1 ({spot}: 1)" in ready.stdout
    assert "ml.m5.xlarge spot training job, 1 instance for max wait 45 min = 0.75 " in ready.stdout
    assert ready.stdout.rstrip().endswith("TrainAndServe: worst case $0.17")
    assert sorted(set(answers.calls)) == [
        "lambda.GetAccountSettings",
        "pricing.GetProducts",
        "service-quotas.ListAWSDefaultServiceQuotas",
        "service-quotas.ListServiceQuotas",
    ]
