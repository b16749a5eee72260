"""The integration tests offline: each ``integ_*.py`` synthesizes what its committed
snapshot holds (``make integ-snapshot`` records it on purpose), its templates pass the
cfn-lint gate with the suite's, and each asserts what a real deploy must show
(SageMaker's Describe calls expecting ``Completed``, the model artifacts or
predictions listed in S3), so ``make integ-deploy`` has something to judge."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.cfn_lint import record
from tests.integ import apps, snapshots, stack_templates
from tests.integ.snapshots import differences, snapshot_dir, synthesize

APPS = {app.stem: app for app in apps()}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every integration test synthesized again, two at a time; its templates recorded
    for the cfn-lint gate (tests/test_zz_cfn_lint.py) as the suite's own are."""
    out = {name: tmp_path_factory.mktemp(name) for name in APPS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda name: synthesize(APPS[name], out[name]), APPS))
    for name, assembly in out.items():
        for stack, template in stack_templates(assembly).items():
            record(f"{name}/{stack}", template)
    return out


def test_the_four_integration_tests_are_there() -> None:
    assert set(APPS) == {
        "integ_training",
        "integ_tuning",
        "integ_wait_condition",
        "integ_pipeline",
    }


@pytest.mark.parametrize("name", sorted(APPS))
def test_each_app_synthesizes_its_snapshot(name: str, synthesized: dict[str, Path]) -> None:
    snapshot = snapshot_dir(APPS[name])
    assert snapshot.is_dir(), f"{snapshot} is missing: make integ-snapshot records it"
    found = differences(snapshot, synthesized[name])
    assert not found, (
        f"{name} no longer synthesizes its snapshot; if the change is on purpose, "
        "make integ-snapshot and commit it:\n" + "\n".join(found)
    )


def _assertions(assembly: Path) -> list[dict[str, Any]]:
    """The API calls of the test's assertion stack, with what each expects."""
    manifest = json.loads((assembly / "integ.json").read_text())
    (case,) = manifest["testCases"].values()
    template = json.loads((assembly / f"{case['assertionStackName']}.template.json").read_text())
    return [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"].startswith("Custom::DeployAssert@SdkCall")
    ]


EXPECTED_CALLS = {
    "integ_training": [
        ("SageMaker", "describeTrainingJob", {"TrainingJobStatus": "Completed"}),
        ("S3", "getObjectAttributes", {"ETag": {"$StringLike": ".+"}}),
    ],
    "integ_wait_condition": [
        ("SageMaker", "describeTrainingJob", {"TrainingJobStatus": "Completed"}),
        ("S3", "getObjectAttributes", {"ETag": {"$StringLike": ".+"}}),
    ],
    "integ_tuning": [
        (
            "SageMaker",
            "describeHyperParameterTuningJob",
            {"HyperParameterTuningJobStatus": "Completed"},
        ),
        ("SageMaker", "describeTrainingJob", {"TrainingJobStatus": "Completed"}),
        ("S3", "getObjectAttributes", {"ETag": {"$StringLike": ".+"}}),
    ],
    "integ_pipeline": [
        ("SageMaker", "describeProcessingJob", {"ProcessingJobStatus": "Completed"}),
        ("SageMaker", "describeTrainingJob", {"TrainingJobStatus": "Completed"}),
        ("SageMaker", "describeProcessingJob", {"ProcessingJobStatus": "Completed"}),
        ("SageMaker", "describeTransformJob", {"TransformJobStatus": "Completed"}),
        ("SageMaker", "describeEndpoint", {"EndpointStatus": "InService"}),
        ("S3", "getObjectAttributes", {"ETag": {"$StringLike": ".+"}}),
    ],
}


@pytest.mark.parametrize("name", sorted(APPS))
def test_each_app_asserts_what_a_deploy_must_show(name: str, synthesized: dict[str, Path]) -> None:
    calls = [
        (call["service"], call["api"], json.loads(call["expected"])["$ObjectLike"])
        for call in _assertions(synthesized[name])
    ]
    assert sorted(calls, key=repr) == sorted(EXPECTED_CALLS[name], key=repr)
    manifest = json.loads((synthesized[name] / "integ.json").read_text())
    (case,) = manifest["testCases"].values()
    # Each deploy trains: no deploy of the previous snapshot first.
    assert case["stackUpdateWorkflow"] is False


def test_a_changed_template_is_a_difference(tmp_path: Path) -> None:
    app = APPS["integ_training"]
    copy = tmp_path / "snapshot"
    shutil.copytree(snapshot_dir(app), copy)
    template = copy / "ConstructsLibIntegTraining.template.json"
    changed = json.loads(template.read_text())
    train = next(
        r for r in changed["Resources"].values() if r["Type"] == "Custom::SageMakerTrainingJob"
    )
    train["Properties"]["TrainingJobRequest"]["HyperParameters"]["num_round"] = "21"
    template.write_text(json.dumps(changed))

    found = differences(snapshot_dir(app), copy)

    assert len(found) == 1 and "num_round" in found[0] and '"21"' in found[0]
    assert differences(snapshot_dir(app), snapshot_dir(app)) == []


def test_recording_rewrites_only_a_snapshot_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make integ-snapshot``: an app that synthesizes its snapshot leaves it as it is
    (its salts would change every file); a changed one is written, without asset
    files and without the machine's traces."""
    app = APPS["integ_training"]
    recorded = tmp_path / "recorded"
    shutil.copytree(snapshot_dir(app), recorded)
    synthesized_with: dict[str, Any] = {}

    def synthesize_copy(_app: Path, outdir: Path) -> None:
        shutil.copytree(snapshot_dir(app), outdir, dirs_exist_ok=True)
        (outdir / "asset.0123.csv").write_text("data")
        for name, change in synthesized_with.items():
            path = outdir / name
            path.write_text(change(path.read_text()))

    monkeypatch.setattr(snapshots, "synthesize", synthesize_copy)
    monkeypatch.setattr(snapshots, "snapshot_dir", lambda _app: recorded)
    before = {p.name: p.stat().st_mtime_ns for p in recorded.iterdir()}

    assert snapshots.record(app) is False
    assert {p.name: p.stat().st_mtime_ns for p in recorded.iterdir()} == before

    synthesized_with["ConstructsLibIntegTraining.template.json"] = lambda text: text.replace(
        '"num_round": "20"', '"num_round": "30"'
    )
    assert snapshots.record(app) is True
    assert (
        '"num_round": "30"' in (recorded / "ConstructsLibIntegTraining.template.json").read_text()
    )
    assert not list(recorded.glob("asset.*"))
