"""Generate ``builtin_algorithms.json`` from the SDK's published image-URI data.

Run ``python -m constructs_lib._algorithms.generate`` (it downloads the
``sagemaker-core`` wheel with pip, reads its ``image_uri_config/*.json`` and
installs nothing) and commit the result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "sagemaker-core"
CONFIG_DIR = "sagemaker/core/image_uri_config/"
#: SageMaker's built-in algorithms (the SDK's data also covers frameworks and
#: inference servers, which are not training algorithms of SageMaker's own).
ALGORITHMS = (
    "blazingtext",
    "factorization-machines",
    "forecasting-deepar",
    "image-classification",
    "ipinsights",
    "kmeans",
    "knn",
    "lda",
    "linear-learner",
    "ntm",
    "object-detection",
    "object2vec",
    "pca",
    "randomcutforest",
    "semantic-segmentation",
    "seq2seq",
    "xgboost",
)


def build(configs: dict[str, dict[str, Any]], source: str) -> dict[str, Any]:
    """The compact table: registry maps (region -> account) shared between versions."""
    registries: list[dict[str, str]] = []
    algorithms: dict[str, Any] = {}
    for name in ALGORITHMS:
        config = configs[name]
        config = config.get("training", config)
        versions: dict[str, Any] = {}
        for version, entry in config["versions"].items():
            registry = dict(sorted(entry["registries"].items()))
            if registry not in registries:
                registries.append(registry)
            versions[version] = {
                "repository": entry["repository"],
                "registries": registries.index(registry),
            }
        algorithms[name] = {"aliases": config.get("version_aliases", {}), "versions": versions}
    return {"source": source, "registries": registries, "algorithms": algorithms}


def read_wheel(wheel: Path) -> dict[str, dict[str, Any]]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: json.loads(archive.read(f"{CONFIG_DIR}{name}.json")) for name in ALGORITHMS}


def main() -> None:
    from . import TABLE_FILE  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, PACKAGE],
            check=True,
        )
        [wheel] = Path(folder).glob("*.whl")
        table = build(read_wheel(wheel), source=wheel.name)
    TABLE_FILE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {TABLE_FILE} from {table['source']}", file=sys.stderr)


if __name__ == "__main__":
    main()
