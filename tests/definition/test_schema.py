"""The distilled schema against botocore's model, and the validator on its own."""

from __future__ import annotations

import inspect
from enum import Enum

import pytest
from aws_cdk import Aws, Token

from constructs_lib import TrainingJob
from constructs_lib._shared.schema import SCHEMA_FILE, generate, load
from constructs_lib._shared.schema.validate import Validator, is_unresolved
from constructs_lib.definition._config import ServerlessJobType
from constructs_lib.definition._data import (
    CompressionType,
    FileSystemAccessMode,
    FileSystemType,
    InputMode,
    OutputCompression,
    RecordWrapper,
    S3DataDistribution,
    S3DataType,
)
from constructs_lib.definition._request import ESCAPE_HATCH_ONLY, PROP_FOR_PATH, PROPS_FOR_MEMBER

# Real CDK tokens, as they appear in a request before synthesis.
TOKEN_STRING = Aws.ACCOUNT_ID
TOKEN_NUMBER = Token.as_number(Aws.ACCOUNT_ID)


def test_committed_schema_matches_botocore() -> None:
    """Fails when the installed botocore's model moved on: run
    ``python -m constructs_lib._shared.schema.generate`` and commit the result."""
    assert generate.render() == SCHEMA_FILE.read_text()


def test_every_api_member_is_typed_or_reachable_through_the_escape_hatch() -> None:
    schema = load()
    members = set(schema["shapes"][schema["root"]]["members"])
    typed = set(PROPS_FOR_MEMBER)
    escape_only = {path.split(".")[0] for path in ESCAPE_HATCH_ONLY if "." not in path}
    missing = members - typed - escape_only
    assert not missing, f"CreateTrainingJob members with no prop and not listed: {missing}"
    assert len(members) >= 28
    assert typed | escape_only <= members, "a mapped member no longer exists in the API"


def test_mapped_props_exist_on_the_construct() -> None:
    parameters = set(inspect.signature(TrainingJob.__init__).parameters)
    named = {p for props in PROPS_FOR_MEMBER.values() for p in props} | set(PROP_FOR_PATH.values())
    assert named <= parameters, named - parameters
    assert "additional_request" in parameters


def test_escape_hatch_paths_exist_in_the_model() -> None:
    validator = Validator()
    for path in ESCAPE_HATCH_ONLY:
        parts = path.split(".")
        shape = validator.shapes[validator.root]
        for part in parts:
            assert part in shape["members"], path
            shape = validator.shapes[shape["members"][part]]
            if shape["type"] == "list":
                shape = validator.shapes[shape["member"]]


@pytest.mark.parametrize(
    ("enum", "shape"),
    [
        (InputMode, "TrainingInputMode"),
        (CompressionType, "CompressionType"),
        (S3DataType, "S3DataType"),
        (S3DataDistribution, "S3DataDistribution"),
        (RecordWrapper, "RecordWrapper"),
        (FileSystemType, "FileSystemType"),
        (FileSystemAccessMode, "FileSystemAccessMode"),
        (OutputCompression, "OutputCompressionType"),
        (ServerlessJobType, "ServerlessJobType"),
    ],
)
def test_typed_enums_match_the_model(enum: type[Enum], shape: str) -> None:
    assert sorted(member.value for member in enum) == sorted(load()["shapes"][shape]["enum"])


# -- the validator ------------------------------------------------------------

MINIMAL = {
    "TrainingJobName": "job",
    "RoleArn": "arn:aws:iam::123456789012:role/r",
    "OutputDataConfig": {"S3OutputPath": "s3://b/p/"},
}


def rules(request: dict[str, object]) -> list[tuple[str, str]]:
    return [(p.path, p.rule) for p in Validator().problems({**MINIMAL, **request})]


def test_minimal_request_is_valid() -> None:
    assert rules({}) == []


def test_types_are_checked() -> None:
    assert rules({"ResourceConfig": {"InstanceCount": "1"}}) == [
        ("ResourceConfig.InstanceCount", "must be an integer, not a str")
    ]
    assert rules({"EnableNetworkIsolation": "true"}) == [
        ("EnableNetworkIsolation", "must be true or false, not a str")
    ]
    assert rules({"HyperParameters": {"a": 1}}) == [
        ("HyperParameters['a']", "must be a string, not a int")
    ]


def test_unknown_members_are_named_with_the_known_ones() -> None:
    [(path, rule)] = rules({"StoppingCondition": {"MaxRuntime": 5}})
    assert path == "StoppingCondition.MaxRuntime"
    assert "is not a member of StoppingCondition" in rule
    assert "MaxRuntimeInSeconds" in rule


def test_limits_come_from_the_model() -> None:
    assert rules({"StoppingCondition": {"MaxPendingTimeInSeconds": 60}}) == [
        ("StoppingCondition.MaxPendingTimeInSeconds", "must be at least 1800")
    ]
    assert ("ResourceConfig.InstanceType", "must be one of") in [
        (path, rule[:14]) for path, rule in rules({"ResourceConfig": {"InstanceType": "ml.x.y"}})
    ]


def test_java_unicode_classes_in_patterns_accept_unicode() -> None:
    assert rules({"Tags": [{"Key": "équipe données", "Value": "µ-1"}]}) == []
    [(path, rule)] = rules({"Tags": [{"Key": "a*b", "Value": "v"}]})
    assert path == "Tags[0].Key" and rule.startswith("must match the pattern")


@pytest.mark.parametrize(
    "token",
    [
        TOKEN_STRING,
        f"s3://{TOKEN_STRING}/prefix",
        TOKEN_NUMBER,
        {"Ref": "Something"},
        {"Fn::GetAtt": ["Role", "Arn"]},
    ],
    # Fixed ids: a token's text differs between processes (pytest-xdist's must agree).
    ids=["string", "in-a-string", "number", "ref", "get-att"],
)
def test_tokens_are_skipped_not_guessed(token: object) -> None:
    assert is_unresolved(token)
    assert rules({"RoleArn": token, "ResourceConfig": {"VolumeSizeInGB": token}}) == []


def test_plain_values_are_not_tokens() -> None:
    for value in ("plain", 5, 1.5, True, ["a"], {"a": 1}, {"Ref": 1, "Other": 2}):
        assert not is_unresolved(value)
