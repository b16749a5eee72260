"""The ``/opt/ml`` tree SageMaker writes into a training container before it starts
the job, under any base directory (the training toolkit reads it from
``SAGEMAKER_BASE_DIR``): the hyperparameters, the channels' configuration and data,
the cluster's one host, and the folders the job writes to."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The one host of a local run: the toolkit waits until every host's name resolves.
LOCAL_HOST = "localhost"


def instance_type(definition: Mapping[str, Any]) -> str:
    """The instance type of a training job's request (or its first instance group)."""
    resources = (
        definition.get("ResourceConfig")
        or definition.get("HyperParameterTuningResourceConfig")
        or {}
    )
    if resources.get("InstanceType"):
        return str(resources["InstanceType"])
    groups = resources.get("InstanceGroups") or resources.get("InstanceConfigs") or [{}]
    return str(groups[0].get("InstanceType", "ml.m5.xlarge"))


def channel_config(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``inputdataconfig.json`` of a training job's request: each channel's content
    type, input mode, distribution and record wrapper, as SageMaker writes them."""
    mode = (definition.get("AlgorithmSpecification") or {}).get("TrainingInputMode", "File")
    channels: dict[str, dict[str, Any]] = {}
    for channel in definition.get("InputDataConfig") or []:
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        channels[str(channel["ChannelName"])] = {
            "ContentType": channel.get("ContentType"),
            "TrainingInputMode": channel.get("InputMode", mode),
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
    return channels


def write_tree(
    base: Path,
    *,
    definition: Mapping[str, Any],
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, Path],
) -> None:
    """Write the tree SageMaker writes for a training job of ``definition`` (a
    CreateTrainingJob request, or a tuning job's training definition) under ``base``.

    :param hyperparameters: what the job gets, encoded (each value a string).
    :param channels: each channel's data: a directory (its files are copied) or a file.
    """
    config = base / "input" / "config"
    config.mkdir(parents=True)
    for folder in ("model", "output/data", "code", "checkpoints"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (config / "inputdataconfig.json").write_text(json.dumps(channel_config(definition)))
    for name, source in channels.items():
        data = base / "input" / "data" / name
        if source.is_dir():
            shutil.copytree(source, data)
        else:
            data.mkdir(parents=True)
            shutil.copy(source, data / source.name)
    kind = instance_type(definition)
    (config / "resourceconfig.json").write_text(
        json.dumps(
            {
                "current_host": LOCAL_HOST,
                "hosts": [LOCAL_HOST],
                "current_instance_type": kind,
                "current_group_name": "homogeneousCluster",
                "instance_groups": [
                    {
                        "instance_group_name": "homogeneousCluster",
                        "instance_type": kind,
                        "hosts": [LOCAL_HOST],
                    }
                ],
                "network_interface_name": "eth0",
            }
        )
    )
