"""SageMaker's training toolkit (PyPI ``sagemaker-training``, the code inside the
framework containers) run locally on what a synthesized cloud assembly gives: the
``/opt/ml`` tree written as SageMaker writes it for a job's request, the code and
channel data mapped to the assembly's staged assets.

The toolkit and the SDK pieces live in their own venv (``make .venv-sdk/.installed``),
as their pins clash with the project's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.testing import _tree as tree

ROOT = Path(__file__).resolve().parent.parent
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"


def sdk_python() -> Path:
    """The venv's interpreter (built by ``make test``)."""
    if not SDK_PYTHON.exists():
        pytest.fail(f"{SDK_PYTHON} is missing: run `make .venv-sdk/.installed` (make test does)")
    return SDK_PYTHON


def staged_files(outdir: Path) -> dict[str, Path]:
    """Object key -> staged file of every file asset of the assembly in ``outdir``."""
    staged: dict[str, Path] = {}
    for manifest in outdir.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            source = outdir / asset["source"]["path"]
            for destination in asset["destinations"].values():
                staged[destination["objectKey"]] = source
    return staged


def staged_key(uri: Any, files: dict[str, Path]) -> str:
    """The object key of the asset an ``s3://bucket/key`` of the template names (a
    string, or the ``Fn::Join`` of a stack whose account is known only at deploy)."""
    text = json.dumps(uri)
    found = [key for key in files if f"/{key}" in text]
    assert len(found) == 1, f"{uri} is no asset of the assembly ({sorted(files)})"
    return found[0]


def staged(uri: Any, files: dict[str, Path]) -> Path:
    """The staged file of the asset ``uri`` names (see :func:`staged_key`)."""
    return files[staged_key(uri, files)]


def write_tree(
    base: Path,
    *,
    request: dict[str, Any],
    hyperparameters: dict[str, str],
    files: dict[str, Path],
    channel_files: dict[str, Path] | None = None,
) -> None:
    """The ``SAGEMAKER_BASE_DIR`` tree SageMaker writes for a training job of
    ``request`` (a CreateTrainingJob request, or a tuning job's training definition
    with ``hyperparameters`` the values one training job gets), as the library's local
    rehearsal writes it, with the assembly's staged files as the code and data.

    :param channel_files: the file of a channel whose S3 URI is not an asset (e.g. the
        artifacts of another job), by channel name.
    """
    # The code: the request's S3 URI mapped to the staged archive, or (a job without
    # network access) its path in the code channel, mapped into the tree.
    values = dict(hyperparameters)
    submit = values["sagemaker_submit_directory"]
    submit = json.loads(submit) if isinstance(submit, str) else submit
    local = (
        str(base / submit.removeprefix("/opt/ml/"))
        if isinstance(submit, str) and submit.startswith("/opt/ml/")
        else str(staged(submit, files))
    )
    values["sagemaker_submit_directory"] = json.dumps(local)
    channels: dict[str, Path] = {}
    staging = Path(tempfile.mkdtemp(prefix="channels-"))
    for channel in request.get("InputDataConfig", []):
        name = channel["ChannelName"]
        given = (channel_files or {}).get(name)
        if given is not None:
            channels[name] = given
            continue
        # SageMaker names the file after the object's key.
        key = staged_key(channel["DataSource"]["S3DataSource"]["S3Uri"], files)
        (staging / name).mkdir()
        shutil.copy(files[key], staging / name / Path(key).name)
        channels[name] = staging / name
    tree.write_tree(base, definition=request, hyperparameters=values, channels=channels)


def train(base: Path) -> subprocess.CompletedProcess[str]:
    """``sagemaker_training.trainer.train()`` on the tree at ``base``, as a framework
    container's entry point calls it."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SM_", "SAGEMAKER_", "AWS_", "PYTHON"))
    }
    environment.update({"SAGEMAKER_BASE_DIR": str(base), "AWS_DEFAULT_REGION": "us-east-1"})
    return subprocess.run(
        [str(sdk_python()), "-c", "from sagemaker_training import trainer; trainer.train()"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def sdk_retrieve(cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the SageMaker SDK's ``image_uris.retrieve`` answers for each case
    (``{"uri": ...}`` or ``{"error": ...}``), run in the SDK's venv."""
    result = subprocess.run(
        [str(sdk_python()), str(ROOT / "tests" / "sdk_probe.py")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    answers: list[dict[str, str]] = json.loads(result.stdout)
    return answers
