"""Distributed training on SageMaker's framework containers, as the SageMaker Python
SDK's ``distribution=`` option configures it: the strategies the containers'
training toolkit launches (torchrun, MPI, parameter servers, TensorFlow's
multi-worker mirrored strategy, SageMaker's data-parallel library), with the SDK's
checks of framework, version, instance type and count."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Token

from .._shared.keywords import keywords
from ._algorithms import frameworks

# The SDK's support lists (sagemaker-core's fw_utils.py), by full framework version.
TORCH_DISTRIBUTED_GPU_VERSIONS = frozenset(
    {
        "1.13.1",
        "2.0.0",
        "2.0.1",
        "2.1.0",
        "2.1.2",
        "2.2.0",
        "2.3.0",
        "2.3.1",
        "2.4.1",
        "2.5.1",
        "2.6.0",
        "2.7.1",
        "2.8.0",
    }
)
TORCH_DISTRIBUTED_TRAINIUM_VERSIONS = frozenset({"1.11.0", "1.12.0", "1.12.1", "1.13.1", "2.0.0"})
DATA_PARALLEL_VERSIONS = {
    "tensorflow": frozenset(
        {
            "2.3.1",
            "2.3.2",
            "2.4.1",
            "2.4.3",
            "2.5.0",
            "2.5.1",
            "2.6.0",
            "2.6.2",
            "2.6.3",
            "2.7.1",
            "2.8.0",
            "2.9.1",
            "2.9.2",
            "2.10.1",
            "2.11.0",
        }
    ),
    "pytorch": frozenset(
        {
            "1.6.0",
            "1.7.1",
            "1.8.0",
            "1.8.1",
            "1.9.0",
            "1.9.1",
            "1.10.0",
            "1.10.2",
            "1.11.0",
            "1.12.0",
            "1.12.1",
            "1.13.1",
            "2.0.0",
            "2.0.1",
            "2.1.0",
            "2.1.2",
            "2.2.0",
        }
    ),
}
#: The first TensorFlow with the multi-worker mirrored strategy in SageMaker.
MWMS_MIN_TENSORFLOW = (2, 9)

INSTANCE_TYPE = "sagemaker_instance_type"


@dataclass(frozen=True)
class _Strategy:
    key: str
    """The SDK's ``distribution`` key."""
    frameworks: tuple[str, ...]
    """The frameworks whose containers run it."""


_TORCH = _Strategy("torch_distributed", ("pytorch", "huggingface"))
_MPI = _Strategy("mpi", ("pytorch", "tensorflow", "huggingface"))
_PARAMETER_SERVER = _Strategy("parameter_server", ("tensorflow",))
_MWMS = _Strategy("multi_worker_mirrored_strategy", ("tensorflow",))
_DATA_PARALLEL = _Strategy("smdistributed.dataparallel", ("pytorch", "tensorflow", "huggingface"))


#: What a distribution does not say: how many instances (the job does).
_THE_JOBS = {
    name: f"the job has the instances: TrainingJob({name}=..., distribution=...); a "
    "distribution says how they train together"
    for name in ("instance_count", "instance_type", "instance_groups")
}


class Distribution:
    """How a framework container spreads one job over its instances and their
    devices; the SDK's ``distribution`` dictionary, typed. Create one with
    :meth:`torch_distributed`, :meth:`mpi`, :meth:`parameter_server`,
    :meth:`multi_worker_mirrored_strategy` or :meth:`data_parallel`."""

    def __init__(self, strategy: _Strategy, options: dict[str, Any]) -> None:
        self._strategy = strategy
        self._options = options

    @staticmethod
    @keywords("Distribution.torch_distributed", refused=_THE_JOBS)
    def torch_distributed() -> Distribution:
        """``torchrun`` on every instance, one process per GPU or Neuron core
        (PyTorch, and Hugging Face on PyTorch; GPU and Trainium instances)."""
        return Distribution(_TORCH, {})

    @staticmethod
    @keywords("Distribution.mpi", refused=_THE_JOBS)
    def mpi(*, processes_per_host: int | None = None, custom_mpi_options: str = "") -> Distribution:
        """``mpirun`` over the instances (e.g. Horovod; PyTorch, TensorFlow, Hugging
        Face).

        :param processes_per_host: processes per instance (usually its GPUs); default:
            the toolkit's (one).
        :param custom_mpi_options: more ``mpirun`` options; default: none.
        """
        if processes_per_host is not None and (
            isinstance(processes_per_host, bool)
            or not isinstance(processes_per_host, int)
            or processes_per_host < 1
        ):
            raise ValueError(
                f"Distribution.mpi: processes_per_host {processes_per_host!r} is invalid: "
                "it must be a whole number of at least 1"
            )
        return Distribution(
            _MPI,
            {"processes_per_host": processes_per_host, "custom_mpi_options": custom_mpi_options},
        )

    @staticmethod
    @keywords("Distribution.parameter_server", refused=_THE_JOBS)
    def parameter_server() -> Distribution:
        """TensorFlow's parameter servers, one per instance (one worker per instance:
        on a multi-GPU instance the other GPUs stay idle)."""
        return Distribution(_PARAMETER_SERVER, {})

    @staticmethod
    @keywords("Distribution.multi_worker_mirrored_strategy", refused=_THE_JOBS)
    def multi_worker_mirrored_strategy() -> Distribution:
        """TensorFlow's ``MultiWorkerMirroredStrategy`` (TensorFlow 2.9 and later)."""
        return Distribution(_MWMS, {})

    @staticmethod
    @keywords("Distribution.data_parallel", refused=_THE_JOBS)
    def data_parallel(*, custom_mpi_options: str = "") -> Distribution:
        """SageMaker's distributed data-parallel library (``smdistributed``; the
        PyTorch and TensorFlow versions it supports, GPU instances).

        :param custom_mpi_options: more ``mpirun`` options; default: none.
        """
        return Distribution(_DATA_PARALLEL, {"custom_mpi_options": custom_mpi_options})

    @property
    def strategy(self) -> str:
        """The SDK's name of the strategy (``torch_distributed``, ``mpi``...)."""
        return self._strategy.key

    @property
    def smdistributed(self) -> bool:
        """Whether it uses SageMaker's distributed libraries (their images differ)."""
        return self._strategy is _DATA_PARALLEL

    def hyperparameters(self, instance_type: str) -> dict[str, Any]:
        """What the SDK adds to a job's hyperparameters (before JSON encoding) for
        this strategy on ``instance_type``."""
        strategy = self._strategy
        if strategy is _TORCH:
            return {"sagemaker_torch_distributed_enabled": True, INSTANCE_TYPE: instance_type}
        if strategy is _MPI:
            values: dict[str, Any] = {"sagemaker_mpi_enabled": True}
            if self._options["processes_per_host"]:
                values["sagemaker_mpi_num_of_processes_per_host"] = self._options[
                    "processes_per_host"
                ]
            values["sagemaker_mpi_custom_mpi_options"] = self._options["custom_mpi_options"]
            return values
        if strategy is _PARAMETER_SERVER:
            return {"sagemaker_parameter_server_enabled": True}
        if strategy is _MWMS:
            return {"sagemaker_multi_worker_mirrored_strategy_enabled": True}
        return {
            "sagemaker_distributed_dataparallel_enabled": True,
            INSTANCE_TYPE: instance_type,
            "sagemaker_distributed_dataparallel_custom_mpi_options": self._options[
                "custom_mpi_options"
            ],
        }

    def problems(
        self,
        *,
        framework: str,
        version: str,
        py_version: str | None,
        instance_types: Sequence[str],
        entry_point: str,
        base_framework_version: str | None = None,
    ) -> list[str]:
        """What the SDK would refuse about this strategy for the job (each a rule).

        :param base_framework_version: Hugging Face's base framework (``pytorch2.0``),
            whose version the data-parallel library's check reads, as the SDK's.
        """
        strategy = self._strategy
        if framework not in strategy.frameworks:
            return [
                f"{strategy.key} runs on {' and '.join(strategy.frameworks)} images, not "
                f"{framework}"
            ]
        base = re.match(r"^(pytorch|tensorflow)(.+)$", base_framework_version or "")
        if strategy is _DATA_PARALLEL and framework == "huggingface":
            if base is None:
                return [
                    "the data-parallel library runs on Hugging Face images of a PyTorch or "
                    f"TensorFlow base, not {base_framework_version!r}"
                ]
            framework, version = base[1], base[2]
        full = frameworks.full_version(framework, version)
        concrete = [name for name in instance_types if not Token.is_unresolved(name)]
        processors = {frameworks.processor_of(name) for name in concrete}
        problems: list[str] = []
        if "trn" in processors and strategy is not _TORCH:
            problems.append("Trainium instances support the torch_distributed strategy only")
        python = py_version or ""
        if strategy is _TORCH:
            problems.extend(_torch_problems(framework, full, processors, python, entry_point))
        elif strategy is _DATA_PARALLEL:
            supported = DATA_PARALLEL_VERSIONS[framework]
            if full not in supported:
                problems.append(
                    f"SageMaker's data-parallel library supports {framework} "
                    f"{_listed(supported)}, not {version}"
                )
            if python and "py3" not in python:
                problems.append(f"needs a Python 3 image, not {python}")
            if any(name.startswith("ml.p5.48xlarge") for name in concrete):
                problems.append(
                    "SageMaker's data-parallel library does not run on ml.p5.48xlarge "
                    "(use torch_distributed)"
                )
            if processors and processors != {"gpu"}:
                problems.append("needs GPU instances")
        elif strategy is _MWMS and _numbers(full) < MWMS_MIN_TENSORFLOW:
            problems.append(
                f"needs TensorFlow {'.'.join(map(str, MWMS_MIN_TENSORFLOW))} or later, "
                f"not {version}"
            )
        return problems


def _torch_problems(
    framework: str, full: str, processors: set[str], python: str, entry_point: str
) -> list[str]:
    problems: list[str] = []
    if python and "py3" not in python:
        problems.append(f"needs a Python 3 image, not {python}")
    # The SDK checks PyTorch's own versions (not Hugging Face's transformers versions).
    pytorch = framework == "pytorch"
    if pytorch and "gpu" in processors and full not in TORCH_DISTRIBUTED_GPU_VERSIONS:
        problems.append(
            f"torch_distributed on GPU instances supports PyTorch "
            f"{_listed(TORCH_DISTRIBUTED_GPU_VERSIONS)}, not {full}"
        )
    if pytorch and "trn" in processors and full not in TORCH_DISTRIBUTED_TRAINIUM_VERSIONS:
        problems.append(
            f"torch_distributed on Trainium supports PyTorch "
            f"{_listed(TORCH_DISTRIBUTED_TRAINIUM_VERSIONS)}, not {full}"
        )
    if "cpu" in processors:
        problems.append("torch_distributed runs on GPU and Trainium instances only")
    if not entry_point.endswith(".py"):
        problems.append(f"torch_distributed runs Python programs (*.py), not {entry_point!r}")
    return problems


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _listed(versions: frozenset[str]) -> str:
    return ", ".join(sorted(versions, key=lambda v: tuple(int(p) for p in v.split("."))))
