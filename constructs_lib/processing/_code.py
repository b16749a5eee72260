"""A processing job's own code, as the SageMaker SDK's ``FrameworkProcessor.run(code=,
source_dir=)`` sends it: the ``sourcedir.tar.gz`` as the input ``code`` (unpacked in
``/opt/ml/processing/input/code/``), a generated ``runproc.sh`` as the input
``entrypoint``, and ``/bin/bash`` running that script, which unpacks the code,
installs its ``requirements.txt`` and runs ``<command> <entry point>`` with the job's
arguments.

SageMaker downloads each input object under the last part of its key: the library's
assets are named by their hash (``<hash>.gz``, ``<hash>.sh``), so the script unpacks
that name and the entrypoint runs that name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import Any

from aws_cdk import AssetHashType, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from ..definition._code import CodeConfig
from ..definition._config import S3Location
from ._io import INPUT_ROOT

#: The SDK's ``FrameworkProcessor``: the inputs' names, where they go, what runs.
CODE_INPUT = "code"
ENTRYPOINT_INPUT = "entrypoint"
CODE_PATH = f"{INPUT_ROOT}/{CODE_INPUT}/"
ENTRYPOINT_PATH = f"{INPUT_ROOT}/{ENTRYPOINT_INPUT}"
RUNPROC = "runproc.sh"
FRAMEWORK_ENTRYPOINT_COMMAND = ("/bin/bash",)
#: The SDK's ``FrameworkProcessor`` default command.
DEFAULT_COMMAND = ("python",)
_CACHE = Path(tempfile.gettempdir()) / "constructs-lib-runproc"


def runproc_script(
    command: Sequence[str], entry_point: str, archive: str = "sourcedir.tar.gz"
) -> str:
    """The SDK's ``FrameworkProcessor._generate_framework_script`` (no CodeArtifact),
    unpacking ``archive``: SageMaker downloads an input object under the last part of
    its key, which for the library's code asset is ``<hash>.gz``, not the SDK's
    ``sourcedir.tar.gz``."""
    login = "echo 'CodeArtifact repository not specified. Skipping login.'"
    return dedent(
        """\
        #!/bin/bash

        cd /opt/ml/processing/input/code/
        tar -xzf {archive}

        # Exit on any error. SageMaker uses error code to mark failed job.
        set -e

        if [[ -f 'requirements.txt' ]]; then
            # Optionally log into CodeArtifact
            if ! hash aws 2>/dev/null; then
                echo "AWS CLI is not installed. Skipping CodeArtifact login."
            else
                {codeartifact_login_command}
            fi

            # Some py3 containers has typing, which may breaks pip install
            pip uninstall --yes typing

            python -m pip install -r requirements.txt
        fi

        {entry_point_command} {entry_point} "$@"
    """
    ).format(
        archive=archive,
        codeartifact_login_command=login,
        entry_point_command=" ".join(command),
        entry_point=entry_point,
    )


def _script_file(text: str) -> tuple[Path, str]:
    """``runproc.sh`` with ``text`` in the local cache, and its digest."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    folder = _CACHE / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUNPROC
    if not path.exists():
        part = folder / f".{RUNPROC}.{os.getpid()}"
        part.write_text(text)
        os.replace(part, path)
    return path, digest


@dataclass(frozen=True)
class BoundCode:
    """The code bound to a processing job: its two inputs and its entrypoint."""

    code: CodeConfig
    script: S3Location
    script_uri: str
    script_name: str
    command: tuple[str, ...]
    runproc: str

    @property
    def entrypoint(self) -> list[str]:
        """``/bin/bash`` running the script where SageMaker downloads it."""
        return [*FRAMEWORK_ENTRYPOINT_COMMAND, f"{ENTRYPOINT_PATH}/{self.script_name}"]

    def inputs(self) -> list[dict[str, Any]]:
        """The inputs ``code`` and ``entrypoint``, as the SDK sends them."""
        return [
            _input(CODE_INPUT, self.code.s3_uri, CODE_PATH),
            _input(ENTRYPOINT_INPUT, self.script_uri, ENTRYPOINT_PATH),
        ]

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Exactly the archive and the script."""
        self.code.grant_read(grantee)
        self.script.grant_get(grantee, exact=True)


def _input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _file_name(scope: Construct, key: str, what: str) -> str:
    """The name SageMaker gives the object ``key`` when it downloads it (the last part
    of the key), which the job's command must know at synth."""
    if Token.is_unresolved(key):
        raise ValueError(
            f"[{scope.node.path}] code: the {what}'s object key is known only at deploy "
            "(a stack synthesizer that names assets by parameters): a processing job runs "
            "its code by the file's name, which SageMaker takes from the key. Use the "
            "default stack synthesizer, or TrainingCode.from_bucket"
        )
    return key.rsplit("/", 1)[-1]


def bind_code(scope: Construct, code: CodeConfig, command: Sequence[str] | None) -> BoundCode:
    """The code's archive (bound already) and its ``runproc.sh``, a file asset of the
    job's (one per script text)."""
    chosen = tuple(command) if command else DEFAULT_COMMAND
    archive = _file_name(scope, code.location.key_prefix, "archive")
    text = runproc_script(chosen, code.entry_point, archive)
    path, digest = _script_file(text)
    construct_id = f"Entrypoint{digest[:8]}"
    asset = scope.node.try_find_child(construct_id)
    if not isinstance(asset, s3_assets.Asset):
        asset = s3_assets.Asset(
            scope,
            construct_id,
            path=str(path),
            asset_hash=digest,
            asset_hash_type=AssetHashType.CUSTOM,
        )
    key = asset.s3_object_key
    location = S3Location(asset.bucket, key, from_asset=True)
    name = _file_name(scope, key, "runproc.sh")
    return BoundCode(code, location, asset.s3_object_url, name, chosen, text)
