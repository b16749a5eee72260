"""Test what you deploy: rehearse a job's code locally, and snapshot-test stacks that
use this library (or any CDK stack).

:func:`run_locally` runs a script-mode job's own code on local data, as SageMaker
would run it (the training toolkit on the ``/opt/ml`` tree, no Docker), and reads its
metrics as SageMaker reads the log, before anything is paid for::

    from constructs_lib.testing import run_locally

    def test_the_script_trains(tmp_path):
        job = MyStack(App(), "MyStack").training_job
        run = run_locally(job, channels={"train": "data/train.csv"}, workdir=tmp_path)
        assert run.metrics["validation:rmse"] < 1.0
        assert (run.model_dir / "model.joblib").exists()

It needs the ``local`` extra (``pip install 'sagemaker-training>=5.1,<6'``) and your
framework (scikit-learn, PyTorch...) installed.

A ``ProcessingJob`` with ``code=`` runs the same way from its inputs, in the
``/opt/ml/processing/...`` layout, and gives its outputs' folders and its report's
metrics; a report that is not written, or a metric path that finds nothing, fails
here, before any deploy::

    run = run_locally(stack.evaluation, inputs={"model": "model/", "test": "data/test/"})
    assert run.metrics["mse"] < 4.0
    assert (run.outputs["evaluation"] / "evaluation.json").exists()

A synthesized template churns where the infrastructure does not: asset hashes
change with any byte of a Lambda bundle or data file, and the bootstrap bucket and
repository names carry the qualifier, account and region. :func:`normalize_template`
replaces those by placeholders and sorts every object's keys, so a snapshot changes
only when the infrastructure does::

    # tests/test_my_stack.py
    from aws_cdk import App
    from constructs_lib.testing import TemplateSnapshotExtension, stack_template
    from my_app.stacks import MyStack

    def test_my_stack(snapshot):
        stack = MyStack(App(), "MyStack")
        assert stack_template(stack) == snapshot.use_extension(TemplateSnapshotExtension)

``TemplateSnapshotExtension`` needs `syrupy <https://pypi.org/project/syrupy/>`_
(a test dependency of yours, not of this library); :func:`normalize_template` and
:func:`stack_template` work with any snapshot tool.

``ResourceSnapshotExtension`` stores the template as one line per value, each naming
its resource: a change reads ``- Resources.TuneA1B2.Properties.TuningJobRequest...
MaxValue = "6"`` / ``+ ... = "8"``, not an anonymous ``"6"`` in a JSON document.

The library's synth warnings (a value that looks like a secret, a VPC job without a
route to S3...) are CDK annotations: ``cdk synth`` prints them, but ``python app.py``
and pytest do not. :func:`warnings` returns them, to assert on or print::

    assert warnings(stack) == []

May import: every layer below (definition, training, tuning); nothing imports it.
Load-time promise: an app that does not test imports nothing of it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

# The standard library's only: the AWS CDK is imported where a rehearsal runs.
from ._local import LocalRunError
from ._processing import LocalProcessingRun
from ._rehearsal import LocalRun, read_metrics, run_locally

if TYPE_CHECKING:
    from aws_cdk import Stack

ASSET_HASH_PLACEHOLDER = "<asset-hash>"
ASSET_BUCKET_PLACEHOLDER = "<asset-bucket>"
ASSET_REPOSITORY_PLACEHOLDER = "<asset-repository>"

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# cdk-<qualifier>-assets-<account>-<region>, whatever the account and region are
# (literal, or ${AWS::AccountId}-style references).
_BOOTSTRAP = re.compile(r"cdk-[a-z0-9]+-(container-assets|assets)-(?:\$\{[^}]*\}|[A-Za-z0-9-])+")


def _normalize_string(text: str) -> str:
    text = _ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, text)

    def bootstrap(match: re.Match[str]) -> str:
        if match.group(1) == "assets":
            return ASSET_BUCKET_PLACEHOLDER
        return ASSET_REPOSITORY_PLACEHOLDER

    return _BOOTSTRAP.sub(bootstrap, text)


def normalize_template(template: Any) -> Any:
    """A copy of ``template`` with asset hashes (64 hex digits), asset bucket and
    repository names replaced by placeholders, and every object's keys sorted."""
    if isinstance(template, dict):
        return {key: normalize_template(template[key]) for key in sorted(template)}
    if isinstance(template, list):
        return [normalize_template(value) for value in template]
    if isinstance(template, str):
        return _normalize_string(template)
    return template


def stack_template(stack: Stack) -> Any:
    """The normalized template of ``stack`` (synthesizes it)."""
    from aws_cdk.assertions import Template  # noqa: PLC0415 - keep imports light

    return normalize_template(Template.from_stack(stack).to_json())


def template_lines(template: Any) -> str:
    """``template`` normalized, as one line per value: ``<path> = <JSON value>``, the
    path naming the section and resource (``Resources.<logical id>.Properties...``),
    sorted. Stable as the JSON form is, and a changed line says where it is."""
    lines: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(value[key], f"{path}.{key}" if path else key)
        elif isinstance(value, list) and value:
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        else:
            lines.append(f"{path} = {json.dumps(value, sort_keys=True)}")

    walk(normalize_template(template), "")
    return "\n".join(lines) + "\n"


def warnings(stack: Stack) -> list[str]:
    """The synth warnings of ``stack``'s constructs, ``<construct path>: <message>``
    (what ``cdk synth`` prints; ``python app.py`` and pytest show none)."""
    from aws_cdk.assertions import Annotations, Match  # noqa: PLC0415

    found = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    return [f"{message.id}: {message.entry.data}" for message in found]


# (The syrupy extensions are left out: ``import *`` must not need syrupy.)
__all__ = [
    "ASSET_BUCKET_PLACEHOLDER",
    "ASSET_HASH_PLACEHOLDER",
    "ASSET_REPOSITORY_PLACEHOLDER",
    "LocalProcessingRun",
    "LocalRun",
    "LocalRunError",
    "normalize_template",
    "read_metrics",
    "run_locally",
    "stack_template",
    "template_lines",
    "warnings",
]


def __getattr__(name: str) -> Any:
    # The syrupy extensions are built on first use, so importing this module does not
    # require syrupy.
    if name == "TemplateSnapshotExtension":
        return _template_snapshot_extension()
    if name == "ResourceSnapshotExtension":
        return _resource_snapshot_extension()
    raise AttributeError(name)


@functools.cache
def _resource_snapshot_extension() -> type:
    from syrupy.extensions.single_file import (  # noqa: PLC0415
        SingleFileSnapshotExtension,
        WriteMode,
    )

    class ResourceSnapshotExtension(SingleFileSnapshotExtension):
        """syrupy: one ``.txt`` file per snapshot, a line per value naming its resource
        (see :func:`template_lines`)."""

        _write_mode = WriteMode.TEXT
        file_extension = "txt"

        def serialize(self, data: Any, **kwargs: Any) -> Any:
            return template_lines(data)

    return ResourceSnapshotExtension


@functools.cache
def _template_snapshot_extension() -> type:
    from syrupy.extensions.json import JSONSnapshotExtension  # noqa: PLC0415

    class TemplateSnapshotExtension(JSONSnapshotExtension):
        """syrupy: one ``.json`` file per snapshot, the template normalized."""

        def serialize(self, data: Any, **kwargs: Any) -> Any:
            return super().serialize(normalize_template(data), **kwargs)

    return TemplateSnapshotExtension
