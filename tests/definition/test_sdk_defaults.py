"""What the SDK-parity defaults of issue 30 (section 3) do at synth, beyond the
requests that ``test_sdk_parity`` compares with the SDK's: built-in rules refused
where they do not fit, the hyperparameters the handler fills in (and those it does
not), the SDK's defaults given way to what the user sets, and the handler's filling
of every training definition of a request."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from aws_cdk import App, Environment, Size, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.definition._config import S3Location
from constructs_lib.definition._debugger import (
    DebugCollection,
    DebugHookConfig,
    ProfilerConfig,
    RuleConfiguration,
)
from constructs_lib.handler import properties
from constructs_lib.handler.properties import fill_in_name

ENV = Environment(account="123456789012", region="eu-west-1")
PYTORCH = TrainingImage.from_framework("pytorch", "2.3", py_version="py311")


def _stack(env: Environment | None = ENV) -> tuple[Stack, s3.IBucket]:
    stack = Stack(App(), "Ml", env=env)
    return stack, s3.Bucket.from_bucket_name(stack, "Data", "ml-data")


def _job(stack: Stack, bucket: s3.IBucket, construct_id: str = "Job", **props: Any) -> TrainingJob:
    defaults: dict[str, Any] = {
        "image": PYTORCH,
        "code": TrainingCode.from_bucket(bucket, "code/sourcedir.tar.gz", entry_point="train.py"),
        "output": TrainingOutput.to_bucket(bucket, "models/"),
    }
    return TrainingJob(stack, construct_id, **{**defaults, **props})


def test_a_misspelt_builtin_rule_names_the_closest() -> None:
    with pytest.raises(
        ValueError, match=r"'LossNotDecreasin' is not one of SageMaker's built-in rules"
    ) as error:
        RuleConfiguration.builtin("LossNotDecreasin")
    assert "Did you mean 'LossNotDecreasing'?" in str(error.value)


def test_a_rule_in_the_other_list_is_refused_naming_the_list() -> None:
    stack, bucket = _stack()
    with pytest.raises(
        ValueError,
        match=r"\[Ml/Job\] debug_rules: 'ProfilerReport' is a built-in rule of SageMaker "
        r"Profiler.*give it in profiler_rules",
    ):
        _job(stack, bucket, debug_rules=[RuleConfiguration.builtin("ProfilerReport")])
    with pytest.raises(
        ValueError, match=r"\[Ml/Other\] profiler_rules: 'Overfit' .*give it in debug_rules"
    ):
        _job(stack, bucket, "Other", profiler_rules=[RuleConfiguration.builtin("Overfit")])


def test_profiler_rules_with_the_profiler_off_are_refused() -> None:
    stack, bucket = _stack()
    with pytest.raises(
        ValueError, match=r"\[Ml/Job\] profiler_rules: .*ProfilerConfig\(disable=True\)"
    ):
        _job(
            stack,
            bucket,
            profiler_rules=[RuleConfiguration.builtin("LowGPUUtilization")],
            profiler=ProfilerConfig(disable=True),
        )


def test_rule_parameters_are_strings_and_given_ones_win() -> None:
    rule = RuleConfiguration.builtin(
        "BatchSize", parameters={"window": np.int64(100), "patience": 5}
    )
    assert rule.parameters is not None
    assert rule.parameters["window"] == "100" and rule.parameters["patience"] == "5"
    assert rule.parameters["cpu_threshold_p95"] == "70"  # the rule's default
    assert rule.parameters["rule_to_invoke"] == "BatchSize"
    with pytest.raises(TypeError, match=r"parameters must be strings or numbers"):
        RuleConfiguration.builtin("Overfit", parameters={"patience_train": [1]})


def test_a_given_hook_keeps_its_own_and_gets_the_rules_collections() -> None:
    stack, bucket = _stack()
    hook = DebugHookConfig(
        output=S3Location(bucket, "tensors/"),
        collections=(
            DebugCollection(name="weights"),
            DebugCollection(name="losses", parameters={"save_interval": "500"}),
        ),
    )
    job = _job(
        stack, bucket, debug_hook=hook, debug_rules=[RuleConfiguration.builtin("LossNotDecreasing")]
    )
    rendered = stack.resolve(job.request)["DebugHookConfig"]
    assert rendered["S3OutputPath"] == "s3://ml-data/tensors/"
    # losses once (the rule's is the hook's own), weights kept.
    assert [c["CollectionName"] for c in rendered["CollectionConfigurations"]] == [
        "weights",
        "losses",
    ]


def test_the_rule_evaluator_of_a_region_agnostic_stack_is_mapped() -> None:
    stack, bucket = _stack(env=None)
    _job(stack, bucket, profiler_rules=[RuleConfiguration.builtin("ProfilerReport")])
    template = Template.from_stack(stack).to_json()
    mapping = template["Mappings"]["SageMakerRuleEvaluatorRegistries"]
    assert mapping["eu-west-1"] == {"account": "929884845733"}
    [job] = [
        r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerTrainingJob"
    ]
    [rule] = job["Properties"]["TrainingJobRequest"]["ProfilerRuleConfigurations"]
    assert "SageMakerRuleEvaluatorRegistries" in json.dumps(rule["RuleEvaluatorImage"])


def test_the_toolkits_job_name_is_the_libraries_to_set() -> None:
    stack, bucket = _stack()
    with pytest.raises(ValueError, match=r"HyperParameters\.sagemaker_job_name.*is set by code="):
        _job(stack, bucket, hyperparameters={"sagemaker_job_name": "mine"})


def test_the_hyperparameters_filled_in_at_creation_count_towards_the_limit() -> None:
    stack, bucket = _stack()
    # 95 of the user's, 4 of the toolkit's: 99 in the request; the job's name is the 100th.
    _job(stack, bucket, hyperparameters={f"h{i}": i for i in range(95)})
    with pytest.raises(
        ValueError,
        match=r"HyperParameters \(hyperparameters\): 101 is invalid: a job has at most 100 "
        r"hyperparameters.*sagemaker_job_name added when the job is created",
    ):
        _job(stack, bucket, "TooMany", hyperparameters={f"h{i}": i for i in range(96)})


def test_the_handler_is_told_which_hyperparameters_hold_the_name() -> None:
    stack, bucket = _stack()
    _job(stack, bucket, "Torch")
    _job(
        stack,
        bucket,
        "Tf",
        image=TrainingImage.from_framework("tensorflow", "2.16", py_version="py310"),
    )
    TrainingJob(
        stack,
        "Algorithm",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": np.int64(50), "eta": 0.1, "silent": True},
    )
    resources = Template.from_stack(stack).find_resources("Custom::SageMakerTrainingJob")
    by_id = {key[:-8]: value["Properties"] for key, value in resources.items()}
    assert by_id["Torch"][properties.BY_JOB_NAME] == {
        "sagemaker_job_name": {"Prefix": "", "Suffix": ""}
    }
    assert by_id["Tf"][properties.BY_JOB_NAME]["model_dir"] == {
        "Prefix": "s3://ml-data/models/",
        "Suffix": "/model",
    }
    # Neither is in the request: known only when the job is created.
    assert "sagemaker_job_name" not in by_id["Tf"]["TrainingJobRequest"]["HyperParameters"]
    algorithm = by_id["Algorithm"]
    assert properties.BY_JOB_NAME not in algorithm
    # A built-in algorithm's numbers and bools as the SDK's Estimator sends them.
    assert algorithm["TrainingJobRequest"]["HyperParameters"] == {
        "eta": "0.1",
        "num_round": "50",
        "silent": "True",
    }


def test_what_a_built_in_algorithm_cannot_take_is_still_refused() -> None:
    stack, bucket = _stack()
    for construct_id, value, rule in (
        ("Nan", math.nan, r"HyperParameters\['eta'\]"),
        ("Dict", {"a": 1}, r"HyperParameters\['eta'\].*must be a string"),
    ):
        with pytest.raises(ValueError, match=rule):
            TrainingJob(
                stack,
                construct_id,
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                output=TrainingOutput.to_bucket(bucket, "models/"),
                hyperparameters={"eta": value},
            )


def test_the_sdks_defaults_give_way_to_what_the_user_sets() -> None:
    stack, bucket = _stack()
    own = _job(
        stack, bucket, "Own", enable_metrics_time_series=False, volume_size=Size.gibibytes(10)
    )
    request = stack.resolve(own.request)
    assert request["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    assert request["ResourceConfig"]["VolumeSizeInGB"] == 10
    default = stack.resolve(_job(stack, bucket, "Default").request)
    assert default["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is True
    assert default["ResourceConfig"]["VolumeSizeInGB"] == 30
    sklearn = _job(stack, bucket, "Sklearn", image=TrainingImage.from_framework("sklearn", "1.2-1"))
    assert (
        "EnableSageMakerMetricsTimeSeries"
        not in stack.resolve(sklearn.request)["AlgorithmSpecification"]
    )
    old_torch = _job(
        stack,
        bucket,
        "OldTorch",
        image=TrainingImage.from_framework("pytorch", "1.2", py_version="py3"),
    )
    assert (
        "EnableSageMakerMetricsTimeSeries"
        not in stack.resolve(old_torch.request)["AlgorithmSpecification"]
    )
    # A tuning job's training definition has no such member: none is set.
    tuning = HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=PYTORCH,
            code=TrainingCode.from_bucket(bucket, "code/sourcedir.tar.gz", entry_point="train.py"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            instance_type=InstanceType.of("ml.m5.xlarge"),
        ),
        objective=TuningObjective.minimize("loss"),
        ranges=[ContinuousRange("lr", 0.01, 0.1)],
        additional_request={
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
                }
            }
        },
    )
    definition = stack.resolve(tuning.request)["TrainingJobDefinition"]
    assert "EnableSageMakerMetricsTimeSeries" not in definition["AlgorithmSpecification"]
    assert (
        definition[
            "HyperParameterTuningResourceConfig"
            if "HyperParameterTuningResourceConfig" in definition
            else "ResourceConfig"
        ]["VolumeSizeInGB"]
        == 30
    )


def test_the_handler_fills_every_training_definition() -> None:
    by_name = {
        "sagemaker_job_name": {"Prefix": "", "Suffix": ""},
        "model_dir": {"Prefix": "s3://b/o/", "Suffix": "/model"},
    }
    training: dict[str, Any] = {"HyperParameters": {"epochs": "3"}}
    fill_in_name(training, by_name, "job-1")
    assert training["HyperParameters"] == {
        "epochs": "3",
        "sagemaker_job_name": '"job-1"',
        "model_dir": '"s3://b/o/job-1/model"',
    }
    several: dict[str, Any] = {"TrainingJobDefinitions": [{"StaticHyperParameters": {}}, {}]}
    fill_in_name(several, {"sagemaker_job_name": {"Prefix": "", "Suffix": ""}}, "tune-1")
    assert [d["StaticHyperParameters"] for d in several["TrainingJobDefinitions"]] == [
        {"sagemaker_job_name": '"tune-1"'}
    ] * 2
    untouched: dict[str, Any] = {"HyperParameters": {"a": "1"}}
    fill_in_name(untouched, None, "job-2")
    fill_in_name(untouched, "not a mapping", "job-2")
    assert untouched == {"HyperParameters": {"a": "1"}}
