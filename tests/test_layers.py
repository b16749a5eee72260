"""The house by capability: every import of the library points down its layers
(:data:`tests.layers.LAYERS`), no two modules need each other, the handler imports
nothing outside itself, the top level holds the capabilities and little else, and an
app loads only the capabilities it uses."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.layers import LAYERS, cycles, imports, package_of, upward_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "constructs_lib"


def test_every_import_points_down_the_layers() -> None:
    assert upward_imports(PACKAGE) == []


def test_no_two_modules_need_each_other() -> None:
    assert cycles(PACKAGE) == []


def test_every_package_has_a_layer() -> None:
    packages = {package_of(edge.importer) for edge in imports(PACKAGE)}
    assert packages <= set().union(*LAYERS)
    tops = {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert tops == set().union(*LAYERS) - {""}


#: Job kinds added after the house was grouped into 16 entries (issue 38): each is a
#: package of its own on the job core, as a new kind must be.
LATER_JOB_KINDS = frozenset({"processing", "transform"})


def test_the_top_level_shows_the_capabilities() -> None:
    entries = sorted(path.name for path in PACKAGE.iterdir() if path.name != "__pycache__")
    assert len(entries) <= 16 + len(LATER_JOB_KINDS & set(entries)), entries


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "constructs_lib"
    for name, source in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for directory in [package, *package.rglob("*")]:
        if directory.is_dir() and not (directory / "__init__.py").exists():
            (directory / "__init__.py").write_text("")
    return package


def test_an_upward_import_is_found_even_inside_a_function(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "core/_job.py": """
                def build():
                    from ..training._training_job import TrainingJob
                    return TrainingJob
            """,
            "training/_training_job.py": "from ..core._job import build\n",
        },
    )
    assert upward_imports(package) == [
        "constructs_lib.core._job (line 3) imports constructs_lib.training._training_job:"
        " core may import only the layers below its own, and training is not below it"
    ]


def test_a_package_of_the_same_layer_is_no_lower(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "queueing/_queue.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from ..schedule._parts import ScheduleParts
            """,
            "schedule/_parts.py": "X = 1\n",
        },
    )
    (problem,) = upward_imports(package)
    assert problem.startswith("constructs_lib.queueing._queue (line 4) imports")


def test_the_handler_imports_nothing_outside_itself(tmp_path: Path) -> None:
    package = _tree(tmp_path, {"handler/index.py": "from .._shared import stacks\n"})
    (problem,) = upward_imports(package)
    assert "the handler is deployed on its own" in problem


def test_modules_that_need_each_other_are_found(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "definition/_config.py": """
                def builtin():
                    from . import _rules
            """,
            "definition/_rules.py": "from ._script_mode import as_text\n",
            "definition/_script_mode.py": "from ._config import S3Location\n",
            "definition/_data.py": "from ._config import S3Location\n",
        },
    )
    assert cycles(package) == [
        [
            "constructs_lib.definition._config",
            "constructs_lib.definition._rules",
            "constructs_lib.definition._script_mode",
        ]
    ]


def test_a_lazy_export_counts_as_an_import(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "serving/__init__.py": '_EXPORTS = {"TrainingJob": "..training._training_job"}\n',
            "training/_training_job.py": "TrainingJob = 1\n",
        },
    )
    (problem,) = upward_imports(package)
    assert problem.startswith("constructs_lib.serving (line 1) imports constructs_lib.training")


@pytest.mark.parametrize(
    "unused",
    [
        "constructs_lib.serving._registry",
        "constructs_lib.schedule._schedule",
        "constructs_lib.schedule._retraining",
        "constructs_lib.tuning",
        "constructs_lib.processing",
        "constructs_lib.transform",
        "constructs_lib.handler.json_path",
        "constructs_lib.testing",
        "constructs_lib.cli",
        "aws_cdk.aws_scheduler",
        "aws_cdk.aws_sagemaker",
    ],
)
def test_an_app_loads_only_the_capabilities_it_uses(loaded: set[str], unused: str) -> None:
    assert unused not in loaded


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    """The modules a one-job app loads, built and synthesized."""
    code = textwrap.dedent(
        """
        import sys
        from aws_cdk import App, Stack
        from aws_cdk import aws_s3 as s3
        from constructs_lib import TrainingImage, TrainingJob, TrainingOutput
        app = App()
        stack = Stack(app, "S")
        TrainingJob(stack, "J", image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(s3.Bucket(stack, "B"), "m/"))
        app.synth()
        print("\\n".join(sorted(sys.modules)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    modules = set(out.stdout.split())
    assert "constructs_lib.training._training_job" in modules  # the probe measured an app
    return modules


def _constructor_code_lines(function: ast.FunctionDef, source: list[str]) -> int:
    """Lines of code of a function's body: no docstring, blank lines or comments."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    lines = source[body[0].lineno - 1 : function.end_lineno] if body else []
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def test_job_constructors_read_as_their_steps() -> None:
    """Every job construct (a class that builds a ``JobCore``) keeps its constructor
    to a short sequence of named steps: at most 80 lines of code."""
    found: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        tree = ast.parse(source)
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            builds_core = any(
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "JobCore"
                for node in ast.walk(cls)
            )
            init = next(
                (f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"),
                None,
            )
            if builds_core and init is not None:
                found[cls.name] = _constructor_code_lines(init, source.splitlines())
    assert {"TrainingJob", "HyperparameterTuningJob"} <= set(found)
    assert all(lines <= 80 for lines in found.values()), found


#: The public surface before the packages by capability (issue 38): every name stays.
PUBLIC_NAMES = {
    "CategoricalRange", "Checkpoint", "Completion", "CompletionMode", "CompressionType",
    "ContinuousRange", "DebugCollection", "DebugHookConfig", "Distribution",
    "ExperimentConfig", "FairShare", "FileSystemAccessMode", "FileSystemType",
    "HyperbandConfig", "HyperparameterTuningJob", "IHyperparameterTuningJob",
    "IModelPackageGroup", "ITrainingJob", "ITrainingQueue", "ImageConfig", "InputMode",
    "InstanceGroup", "InstancePlacement", "InstanceType", "IntegerRange",
    "MetricDefinition", "MetricThreshold", "MlflowConfig", "ModelApproval",
    "ModelPackageConfig", "ModelPackageGroup", "OutputCompression", "ParameterRange",
    "PlacementSpecification", "ProfilerConfig", "RecordWrapper", "RegisteredModel",
    "RuleConfiguration", "S3DataDistribution", "S3DataType", "S3Location", "ScalingType",
    "ServerlessJobConfig", "ServerlessJobType", "TensorBoardOutput", "TrainingCode",
    "TrainingDefinition", "TrainingImage", "TrainingInput", "TrainingJob",
    "TrainingJobProps", "TrainingJobProvider", "TrainingOutput", "TrainingQueue",
    "TuningObjective", "TuningStrategy", "WarmStart", "WarmStartType", "render_request",
}  # fmt: skip


def test_the_root_is_the_public_surface_with_every_name() -> None:
    """The root exports every public name it had, each from its capability's package
    (which names it in its own ``__all__``), and nothing under a second name."""
    code = textwrap.dedent(
        """
        import importlib, json
        import constructs_lib
        found = {}
        for name in constructs_lib.__all__:
            value = getattr(constructs_lib, name)
            package = constructs_lib._EXPORTS[name]
            module = importlib.import_module(package, "constructs_lib")
            found[name] = [package, name in module.__all__, getattr(module, name) is value]
        print(json.dumps(found))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    found = json.loads(out.stdout)
    assert set(found) >= PUBLIC_NAMES
    assert all(in_all and same for _, in_all, same in found.values()), found
