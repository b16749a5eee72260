"""The request a ProcessingJob makes SageMaker receive, compared member by member with
the SageMaker Python SDK v2's own for the same intent: ``SKLearnProcessor(...).run``,
``ScriptProcessor(...).run`` and ``FrameworkProcessor(PyTorch, ...).run(code=,
source_dir=)``. The SDK runs in its own venv (``.venv-sdk2``,
``tests/sdk2_processing_probe.py``) under the job name the handler generated, with the
outputs' destinations the per-job folders the library writes to.

What differs on purpose is asserted as such: the code's S3 locations (the library's
assets, the SDK's uploads), and the names SageMaker downloads them under; the
ScriptProcessor layout (one script as the input ``code``), which the library replaces
by the FrameworkProcessor's (the code's directory, its ``requirements.txt``, a
``runproc.sh``) running the same command on the same entry point."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    InstanceType,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    TrainingCode,
    TrainingImage,
)
from constructs_lib.handler.kinds import PROCESSING
from constructs_lib.processing import runproc_script
from tests.deliver import created_request, resolved_properties
from tests.harness import cfn_strings

ROOT = Path(__file__).resolve().parents[2]
SDK2_PYTHON = ROOT / ".venv-sdk2" / "bin" / "python"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/processing"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/preprocess:3"
BUCKET = "ml-data"

#: Each processor's arguments, the job's and the SDK's.
CASES: dict[str, dict[str, Any]] = {
    "Sklearn": {
        "processor": "SKLearnProcessor",
        "framework_version": "1.2-1",
        "entry_point": "preprocess.py",
        "command": ["python3"],
    },
    "Script": {
        "processor": "ScriptProcessor",
        "image_uri": IMAGE,
        "entry_point": "preprocess.py",
        "command": ["python3"],
    },
    "Framework": {
        "processor": "FrameworkProcessor",
        "framework_version": "2.1",
        "py_version": "py310",
        "entry_point": "evaluate.py",
        "command": ["python"],
    },
}
ARGUMENTS = ["--test-split", "0.2"]
ENV = {"MODE": "prepare"}


def _image(case: dict[str, Any]) -> TrainingImage:
    if case["processor"] == "SKLearnProcessor":
        return TrainingImage.from_framework("sklearn", case["framework_version"])
    if case["processor"] == "FrameworkProcessor":
        return TrainingImage.from_framework(
            "pytorch", case["framework_version"], py_version=case["py_version"]
        )
    return TrainingImage.from_registry(case["image_uri"])


def _received(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The request SageMaker receives for the resource (through the handler, on the
    model-validating fake)."""
    properties = template["Resources"][logical_id]["Properties"]
    return created_request(PROCESSING, cfn_strings(resolved_properties(properties, ref=str)))


class Compared:
    def __init__(self, code: Path) -> None:
        stack = Stack(App(), "Parity", env=Environment(account="123456789012", region=REGION))
        bucket = s3.Bucket.from_bucket_name(stack, "Data", BUCKET)
        role = iam.Role.from_role_arn(stack, "Role", ROLE, mutable=False)
        jobs = {
            case_id: ProcessingJob(
                stack,
                case_id,
                image=_image(case),
                code=TrainingCode.from_directory(str(code), entry_point=case["entry_point"]),
                command=case["command"],
                inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
                outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/")],
                arguments=ARGUMENTS,
                environment=ENV,
                instance_type=InstanceType.of("ml.c5.xlarge"),
                instance_count=2,
                volume_size=Size.gibibytes(50),
                max_runtime=Duration.minutes(20),
                role=role,
            )
            for case_id, case in CASES.items()
        }
        template = Template.from_stack(stack).to_json()
        self.jobs = jobs
        self.ours = {
            case_id: _received(template, stack.get_logical_id(job.resource.node.default_child))
            for case_id, job in jobs.items()
        }
        self.sdk = self._sdk()

    def _sdk(self) -> dict[str, dict[str, Any]]:
        if not SDK2_PYTHON.exists():
            pytest.fail(f"{SDK2_PYTHON} is missing: run `make .venv-sdk2/.installed`")
        cases = []
        for case_id, case in CASES.items():
            ours = self.ours[case_id]
            [output] = ours["ProcessingOutputConfig"]["Outputs"]
            cases.append(
                {
                    **case,
                    "id": case_id,
                    "region": REGION,
                    "role": ROLE,
                    "instance_type": "ml.c5.xlarge",
                    "instance_count": 2,
                    "volume_size_in_gb": 50,
                    "max_runtime_in_seconds": 1200,
                    "env": ENV,
                    "job_name": ours["ProcessingJobName"],
                    "arguments": ARGUMENTS,
                    "code": f"s3://{BUCKET}/code/{case['entry_point']}",
                    "source_dir": f"s3://{BUCKET}/code/sourcedir.tar.gz",
                    "inputs": [
                        {
                            "name": "raw",
                            "source": f"s3://{BUCKET}/raw/",
                            "destination": "/opt/ml/processing/input/raw",
                        }
                    ],
                    # The library's per-job folder, as an SDK user keeping runs apart
                    # would give it.
                    "outputs": [
                        {
                            "name": "train",
                            "source": "/opt/ml/processing/output/train",
                            "destination": output["S3Output"]["S3Uri"],
                        }
                    ],
                }
            )
        result = subprocess.run(
            [str(SDK2_PYTHON), str(ROOT / "tests" / "sdk2_processing_probe.py")],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        answers: dict[str, dict[str, Any]] = json.loads(result.stdout)
        for case_id, answer in answers.items():
            assert "error" not in answer, f"the SDK refused {case_id}: {answer['error']}"
        return answers


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Compared:
    code = tmp_path_factory.mktemp("code")
    for name in ("preprocess.py", "evaluate.py"):
        (code / name).write_text("print('hello')\n")
    (code / "requirements.txt").write_text("pandas\n")
    return Compared(code)


def _without_code(request: dict[str, Any]) -> dict[str, Any]:
    """The request without what differs on purpose: the code's inputs, the entrypoint,
    and the library's own tags."""
    kept = copy.deepcopy(request)
    kept["ProcessingInputs"] = [
        i for i in kept["ProcessingInputs"] if i["InputName"] not in ("code", "entrypoint")
    ]
    kept["AppSpecification"].pop("ContainerEntrypoint", None)
    kept.pop("Tags", None)
    return kept


@pytest.mark.parametrize("case_id", list(CASES))
def test_the_request_is_the_sdks_but_for_the_code(compared: Compared, case_id: str) -> None:
    ours, sdk = compared.ours[case_id], compared.sdk[case_id]["request"]
    assert _without_code(ours) == _without_code(sdk)


def test_the_framework_processors_code_goes_as_the_sdks(compared: Compared) -> None:
    ours, answer = compared.ours["Framework"], compared.sdk["Framework"]
    sdk = answer["request"]

    def code_inputs(request: dict[str, Any]) -> list[dict[str, Any]]:
        return [i for i in request["ProcessingInputs"] if i["InputName"] in ("code", "entrypoint")]

    mine, theirs = code_inputs(ours), code_inputs(sdk)
    # The same inputs, in the same order, to the same local paths, the same modes...
    without_uri = [
        {**i, "S3Input": {k: v for k, v in i["S3Input"].items() if k != "S3Uri"}}
        for i in (*mine, *theirs)
    ]
    assert without_uri[:2] == without_uri[2:]
    # ...from different objects: the library's assets are named by their hash, so
    # SageMaker downloads them under those names, which the script and the entrypoint
    # use; the SDK uploads sourcedir.tar.gz and runproc.sh.
    archive = mine[0]["S3Input"]["S3Uri"].rsplit("/", 1)[-1]
    script = mine[1]["S3Input"]["S3Uri"].rsplit("/", 1)[-1]
    assert sdk["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/bash",
        "/opt/ml/processing/input/entrypoint/runproc.sh",
    ]
    assert ours["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/bash",
        f"/opt/ml/processing/input/entrypoint/{script}",
    ]
    bound = compared.jobs["Framework"]._code
    assert bound is not None
    assert bound.runproc == answer["runproc"].replace(
        "tar -xzf sourcedir.tar.gz", f"tar -xzf {archive}"
    )


@pytest.mark.parametrize("case_id", ["Sklearn", "Script"])
def test_a_script_processors_command_runs_the_same_entry_point(
    compared: Compared, case_id: str
) -> None:
    ours, sdk = compared.ours[case_id], compared.sdk[case_id]["request"]
    entry_point = CASES[case_id]["entry_point"]
    # The SDK: one input "code" (the script), the command on it.
    [code] = [i for i in sdk["ProcessingInputs"] if i["InputName"] == "code"]
    assert code["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code"
    assert sdk["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        f"/opt/ml/processing/input/code/{entry_point}",
    ]
    # The library: the FrameworkProcessor's layout (the directory, its requirements),
    # whose script runs that command on that entry point, from the code's folder.
    names = [i["InputName"] for i in ours["ProcessingInputs"]]
    assert names[-2:] == ["code", "entrypoint"]
    bound = compared.jobs[case_id]._code
    assert bound is not None
    assert bound.runproc.rstrip().endswith(f'python3 {entry_point} "$@"')
    assert "cd /opt/ml/processing/input/code/" in bound.runproc
    assert bound.runproc == runproc_script(
        ["python3"], entry_point, bound.code.location.key_prefix.rsplit("/", 1)[-1]
    )
