"""Script mode: the hyperparameters a framework container's training toolkit reads
to run your code, encoded as the SageMaker Python SDK encodes them for framework
estimators (every value JSON, so the script gets ints, floats, bools, lists and
dicts back), plus the toolkit's own (``sagemaker_program``...) and those of the
distribution strategy."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_cdk import Token, Tokenization

from .._shared.schema.validate import Problem
from ._code import CodeConfig
from ._data import TrainingInput
from ._distribution import Distribution
from ._image import ImageConfig

PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
REGION = "sagemaker_region"
LOG_LEVEL = "sagemaker_container_log_level"
#: The job's name, as the SDK sends it (the toolkit's ``SAGEMAKER_JOB_NAME``): known
#: only when the job is created, so the handler fills it in (see :func:`by_job_name`).
JOB_NAME = "sagemaker_job_name"
#: TensorFlow scripts written for the SDK read ``--model_dir``.
MODEL_DIR = "model_dir"
#: Where a TensorFlow script run by MPI writes its model (the SDK's ``model_dir`` then).
MPI_MODEL_DIR = "/opt/ml/model"
#: SageMaker's limit of hyperparameters per job.
MAX_HYPERPARAMETERS = 100
#: The channel that brings the code to a job without network access, as the SDK's.
CODE_CHANNEL = "code"
#: What the library sets for code: the user's hyperparameters may not set them too.
TOOLKIT_HYPERPARAMETERS = (PROGRAM, SUBMIT_DIRECTORY, REGION, LOG_LEVEL, JOB_NAME)
#: Frameworks whose containers run one instance only (the SDK's SKLearn refuses more).
SINGLE_INSTANCE = ("sklearn",)
#: TensorFlow up to 1.10 runs legacy mode only (no script mode), as the SDK says.
LEGACY_TENSORFLOW = (1, 10)
#: Where problems of the distribution are reported (its prop: ``distribution``).
DISTRIBUTION_PATH = "HyperParameters.sagemaker_distribution"


def encode(value: Any) -> str:
    """A hyperparameter value as the SDK's ``json.dumps`` encodes it (CDK tokens stay
    tokens: a string token is quoted, a number token rendered as a number)."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and Token.is_unresolved(value)
    ):
        return Tokenization.stringify_number(value)
    return json.dumps(value, allow_nan=False)


def as_text(value: Any) -> Any:
    """A hyperparameter of a built-in algorithm or an image of your own: a number or
    a bool (NumPy's too) as the SDK's ``Estimator`` sends it, ``str(value)`` (``50`` ->
    ``"50"``, ``True`` -> ``"True"``); anything else as it is (a string, or a value
    the request's validation then refuses)."""
    value = plain(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return value  # refused by the validation: SageMaker takes no NaN
        if Token.is_unresolved(value):
            return Tokenization.stringify_number(value)
        return str(value)
    if isinstance(value, bool):
        return str(value)
    return value


def encode_categorical(value: Any) -> str:
    """A categorical range's value for a framework container, as the SDK's tuner
    encodes it: its text JSON-encoded (``32`` -> ``"\\"32\\""``, ``True`` ->
    ``"\\"True\\""``), so the script receives the text, whatever type was given."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and Token.is_unresolved(value)
    ):
        return json.dumps(Tokenization.stringify_number(value))
    return json.dumps(str(value))


def _encoding_problem(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number: JSON has no NaN or infinity"
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        return (
            "must be JSON-serialisable (str, int, float, bool, or lists and dicts of them), "
            f"as the framework containers decode each value as JSON: {error}"
        )
    return None


def plain(value: Any) -> Any:
    """``value`` with NumPy's scalars (``np.float64(0.1)``, ``np.int64(5)``, in lists and
    dicts too) as the Python numbers they hold, as a script's ``json.loads`` gives them
    back; anything else as it is."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    numpy_scalar = type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0
    return value.item() if numpy_scalar else value


def encode_all(values: Mapping[str, Any], path: str) -> tuple[dict[str, str], list[Problem]]:
    """Each value encoded (NumPy scalars as numbers), and the values that cannot be."""
    encoded: dict[str, str] = {}
    problems: list[Problem] = []
    for key, value in ((key, plain(value)) for key, value in values.items()):
        problem = _encoding_problem(value)
        if problem:
            problems.append(Problem(f"{path}.{key}", value, problem))
        else:
            encoded[str(key)] = encode(value)
    return encoded, problems


def hyperparameters(
    *,
    user: Mapping[str, Any] | None,
    code: CodeConfig | None,
    distribution: Distribution | None,
    image: ImageConfig | None,
    region: str,
    instance_types: Sequence[str],
    instance_count: int | None,
    network_isolation: bool = False,
) -> tuple[dict[str, str] | None, list[Problem]]:
    """The request's ``HyperParameters``, and what is wrong with the code, the
    distribution or the values. Without code, the user's values as they are.

    :param network_isolation: whether the container has no network: the code then
        arrives as the ``code`` channel (see :func:`code_channel`), as the SDK does it.
    """
    if code is None:
        problems = []
        if distribution is not None:
            problems.append(
                Problem(
                    DISTRIBUTION_PATH,
                    distribution.strategy,
                    "a distribution is run by a framework container's training toolkit: "
                    "it needs code= (TrainingCode) on a TrainingImage.from_framework image",
                )
            )
        texts = {str(key): as_text(value) for key, value in (user or {}).items()}
        return (dict(sorted(texts.items())) or None), problems
    problems = list(_code_problems(code, image, instance_count))
    values, encoding = encode_all(user or {}, "HyperParameters")
    problems.extend(encoding)
    for key in TOOLKIT_HYPERPARAMETERS:
        if key in values:
            problems.append(
                Problem(
                    f"HyperParameters.{key}",
                    (user or {})[key],
                    "is set by code= (the training toolkit's own hyperparameter)",
                )
            )
    submit = code.s3_uri
    if network_isolation:
        if code.file_name is None:
            problems.append(
                Problem(
                    f"HyperParameters.{SUBMIT_DIRECTORY}",
                    code.s3_uri,
                    "a job without network access gets its code as a channel, whose file "
                    "name must be known at synth: give the code's key as a plain string",
                )
            )
        submit = f"/opt/ml/input/data/{CODE_CHANNEL}/{code.file_name}"
    values.update(
        {
            PROGRAM: encode(code.entry_point),
            SUBMIT_DIRECTORY: encode(submit),
            REGION: encode(region),
            LOG_LEVEL: encode(code.container_log_level),
        }
    )
    framework = image.framework if image is not None else None
    if distribution is not None and framework is not None:
        for rule in distribution.problems(
            framework=framework.framework,
            version=framework.version,
            py_version=framework.py_version,
            instance_types=instance_types,
            entry_point=code.entry_point,
            base_framework_version=framework.base_framework_version,
        ):
            problems.append(Problem(DISTRIBUTION_PATH, distribution.strategy, rule))
        instance_type = instance_types[0] if instance_types else ""
        values.update(
            {k: encode(v) for k, v in distribution.hyperparameters(instance_type).items()}
        )
    return dict(sorted(values.items())), problems


def by_job_name(
    *,
    code: CodeConfig | None,
    image: ImageConfig | None,
    distribution: Distribution | None,
    user: Mapping[str, Any] | None,
    output_uri: Callable[[], str],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The hyperparameters of a script-mode job that the SDK derives from the job's
    name: ``sagemaker_job_name`` and, for TensorFlow, ``model_dir``
    (``<output path>/<job name>/model``). The name is generated when the job is
    created, so they go to the handler as ``{name: {"Prefix", "Suffix"}}`` (the value
    is the JSON-encoded ``Prefix + job name + Suffix``); what needs no name (MPI's
    ``model_dir``) is returned as encoded values to add now.

    :param output_uri: the job's ``S3OutputPath`` (read only for TensorFlow: a call
        into the CDK).
    """
    if code is None:
        return {}, {}
    named = {JOB_NAME: {"Prefix": "", "Suffix": ""}}
    static: dict[str, str] = {}
    framework = image.framework if image is not None else None
    tensorflow = framework is not None and framework.framework == "tensorflow"
    if tensorflow and code.model_dir and MODEL_DIR not in (user or {}):
        mpi = distribution is not None and distribution.hyperparameters("").get(
            "sagemaker_mpi_enabled"
        )
        if mpi:
            static[MODEL_DIR] = encode(MPI_MODEL_DIR)
        else:
            named[MODEL_DIR] = {"Prefix": output_uri().rstrip("/") + "/", "Suffix": "/model"}
    return static, named


def count_problems(values: Mapping[str, str] | None, named: Mapping[str, Any]) -> list[Problem]:
    """SageMaker's limit, counting what the handler adds at creation."""
    count = len(values or {}) + len(named)
    if not named or count <= MAX_HYPERPARAMETERS:
        return []
    return [
        Problem(
            "HyperParameters",
            count,
            f"a job has at most {MAX_HYPERPARAMETERS} hyperparameters, the library's "
            f"included ({', '.join(sorted(named))} added when the job is created)",
        )
    ]


def _code_problems(
    code: CodeConfig, image: ImageConfig | None, instance_count: int | None
) -> list[Problem]:
    framework = image.framework if image is not None else None
    if framework is None:
        return [
            Problem(
                "AlgorithmSpecification.TrainingImage",
                image.image_uri if image is not None else None,
                "code= runs on a framework container, whose training toolkit runs the "
                "entry point: use TrainingImage.from_framework(...); for an image of your "
                "own, build the code into it (TrainingImage.from_asset) and set "
                "container_entrypoint",
            )
        ]
    problems: list[Problem] = []
    numbers = tuple(int(part) for part in framework.version.split(".")[:2] if part.isdigit())
    if framework.framework == "tensorflow" and numbers <= LEGACY_TENSORFLOW:
        problems.append(
            Problem(
                "AlgorithmSpecification.TrainingImage",
                framework.version,
                "TensorFlow 1.10 and earlier run legacy mode only, no script mode: use "
                "TensorFlow 1.11 or later",
            )
        )
    if (
        framework.framework in SINGLE_INSTANCE
        and isinstance(instance_count, int)
        and instance_count != 1
    ):
        problems.append(
            Problem(
                "ResourceConfig.InstanceCount",
                instance_count,
                f"{framework.framework} trains on one instance (its container has no "
                "distributed training)",
            )
        )
    return problems


def users_own(values: Any, user: Mapping[str, Any] | None) -> Any:
    """``values`` (the request's hyperparameters) without those the library added for
    code and distribution (all ``sagemaker_...``), e.g. for the secret warnings."""
    if not isinstance(values, Mapping):
        return values
    given = user or {}
    return {k: v for k, v in values.items() if k in given or not str(k).startswith("sagemaker_")}


def code_channel(code: CodeConfig) -> TrainingInput:
    """The ``code`` channel of a job without network access: the archive, which the
    toolkit then reads from ``/opt/ml/input/data/code/`` (the SDK's way). SageMaker
    lists the channel's prefix: the execution role may list and get that key only."""
    return TrainingInput(
        channel_name=CODE_CHANNEL,
        location=code.location,
        data_source={
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": code.s3_uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    )
