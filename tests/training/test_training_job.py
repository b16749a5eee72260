"""The TrainingJob construct: its custom resource, request, grants and provider."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Size, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from constructs_lib import (
    CompressionType,
    InputMode,
    InstanceType,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingJobProvider,
    TrainingOutput,
)
from constructs_lib.handler.properties import waiting_state_machine_arn
from constructs_lib.provider import waiting
from tests.fakes import service_model, validate
from tests.flags import FLAG_SETS
from tests.iam import role_statements

XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ENV = Environment(account="123456789012", region="us-east-1")


class Built:
    """One synthesized stack with two jobs, shared by the module's tests."""

    def __init__(self, flags: dict[str, Any]) -> None:
        app = App(context=flags)
        stack = Stack(app, "MlStack", env=ENV)
        self.stack = stack
        self.data = s3.Bucket(stack, "Data")
        key = kms.Key(stack, "Key")
        self.models = s3.Bucket(
            stack, "Models", encryption=s3.BucketEncryption.KMS, encryption_key=key
        )
        self.repository = ecr.Repository(stack, "Repo")
        self.given_role = iam.Role(
            stack, "GivenRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.first = TrainingJob(
            stack,
            "First",
            image=TrainingImage.from_registry(XGBOOST),
            inputs=[
                TrainingInput.from_bucket("train", self.data, "train/", content_type="text/csv"),
                TrainingInput.from_bucket(
                    "validation",
                    self.data,
                    "validation/",
                    input_mode=InputMode.FAST_FILE,
                    compression=CompressionType.GZIP,
                ),
            ],
            output=TrainingOutput.to_bucket(self.models, "models/"),
            instance_type=InstanceType.of("ml.c5.2xlarge"),
            instance_count=2,
            volume_size=Size.gibibytes(30),
            max_runtime=Duration.minutes(40),
            hyperparameters={"num_round": "100", "eta": "0.2"},
            environment={"LOG_LEVEL": "debug"},
            tags={"team": "ml"},
        )
        self.second = TrainingJob(
            stack,
            "Second",
            image=TrainingImage.from_ecr_repository(self.repository, "v1"),
            inputs=[TrainingInput.from_bucket("train", self.data)],
            output=TrainingOutput.to_bucket(self.data, "out/"),
            training_job_name="Fixed-Name-1",
            role=self.given_role,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.template = Template.from_stack(stack)

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.get_logical_id(construct.node.default_child))

    def job_resource(self, job: TrainingJob) -> dict[str, Any]:
        resources = self.template.find_resources("Custom::SageMakerTrainingJob")
        return dict(resources[self.stack.get_logical_id(job.resource.node.default_child)])

    def policy_statements(self, role: iam.IRole) -> list[dict[str, Any]]:
        return role_statements(self.template, self.stack, role)


@pytest.fixture(scope="module", params=FLAG_SETS.keys())
def built(request: pytest.FixtureRequest) -> Built:
    """Without feature flags and with those cdk init writes: the grants must hold in
    both."""
    return Built(FLAG_SETS[request.param])


def _plain(value: Any) -> Any:
    """A resolved value with the partition spelled out: with the feature flags an ARN
    carries the partition as a literal, without them as a reference."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        parts = ["aws" if p == {"Ref": "AWS::Partition"} else _plain(p) for p in parts]
        if all(isinstance(p, str) for p in parts):
            return str(delimiter).join(parts)
        return {"Fn::Join": [delimiter, parts]}
    return value


Permission = tuple[str, str, str, str]


def permissions(statements: list[dict[str, Any]]) -> set[Permission]:
    """What ``statements`` allow, one (effect, action, resource, condition) each:
    equal whether or not the flags minimized (merged, sorted) the policy."""
    found: set[Permission] = set()
    for statement in statements:
        actions = statement["Action"]
        resources = statement["Resource"]
        # One s3:prefix condition with several values allows each of them.
        condition = statement.get("Condition")
        prefixes = (condition or {}).get("StringLike", {}).get("s3:prefix")
        conditions = (
            [{**condition, "StringLike": {"s3:prefix": [p]}} for p in prefixes]
            if isinstance(prefixes, list)
            else [condition]
        )
        for action in actions if isinstance(actions, list) else [actions]:
            for resource in resources if isinstance(resources, list) else [resources]:
                for one in conditions:
                    found.add(
                        (
                            statement["Effect"],
                            action,
                            json.dumps(_plain(resource), sort_keys=True),
                            json.dumps(one, sort_keys=True),
                        )
                    )
    return found


def arn(built: Built, service: str, resource: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":{service}:{resource}"]]}


# -- the custom resource ------------------------------------------------------


def test_custom_resource_carries_the_request_in_api_casing(built: Built) -> None:
    props = built.job_resource(built.first)["Properties"]
    request = props["TrainingJobRequest"]
    data = built.resolve(built.data.bucket_name)
    models = built.resolve(built.models.bucket_name)

    assert request["AlgorithmSpecification"] == {
        "TrainingImage": XGBOOST,
        "TrainingInputMode": "File",
    }
    assert request["RoleArn"] == built.resolve(built.first.role.role_arn)
    assert request["InputDataConfig"] == [
        {
            "ChannelName": "train",
            "ContentType": "text/csv",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": {"Fn::Join": ["", ["s3://", data, "/train/"]]},
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        },
        {
            "ChannelName": "validation",
            "InputMode": "FastFile",
            "CompressionType": "Gzip",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": {"Fn::Join": ["", ["s3://", data, "/validation/"]]},
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        },
    ]
    assert request["OutputDataConfig"] == {
        "S3OutputPath": {"Fn::Join": ["", ["s3://", models, "/models/"]]}
    }
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.c5.2xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 30,
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 2400}
    assert request["HyperParameters"] == {"eta": "0.2", "num_round": "100"}
    assert request["Environment"] == {"LOG_LEVEL": "debug"}
    assert request["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert "TrainingJobName" not in request
    assert props["JobNamePrefix"].startswith("mlstack-")
    assert props["JobNamePrefix"].endswith("-first")
    assert props["RemovalPolicy"] == "retain"


def test_rendered_request_is_valid_for_the_api(built: Built) -> None:
    # Replace the tokens by plausible values and check against botocore's model.
    request = built.job_resource(built.first)["Properties"]["TrainingJobRequest"]

    def concrete(value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("Fn::"):
            return "arn:aws:iam::123456789012:role/x" if "Arn" in str(value) else "s3://b/p/"
        if isinstance(value, dict):
            return {k: concrete(v) for k, v in value.items()}
        if isinstance(value, list):
            return [concrete(v) for v in value]
        return value

    validate(
        service_model().operation_model("CreateTrainingJob"),
        {**concrete(request), "TrainingJobName": "x"},
    )


def test_fixed_name_role_and_removal_policy(built: Built) -> None:
    props = built.job_resource(built.second)["Properties"]

    assert props["TrainingJobRequest"]["TrainingJobName"] == "Fixed-Name-1"
    assert props["TrainingJobRequest"]["RoleArn"] == built.resolve(built.given_role.role_arn)
    assert props["RemovalPolicy"] == "destroy"
    assert built.second.role is built.given_role


def test_job_waits_for_its_execution_role_and_its_grants(built: Built) -> None:
    # The grants are an inline policy of the job's own role: one resource to wait for.
    depends = built.job_resource(built.first)["DependsOn"]
    role = built.first.role.node
    assert role.try_find_child("DefaultPolicy") is None
    assert depends == [built.stack.get_logical_id(role.default_child)]
    [inline] = built.template.find_resources("AWS::IAM::Role")[depends[0]]["Properties"]["Policies"]
    assert inline["PolicyName"] == "TrainingJobGrants"
    # A given role keeps its grants where its owner's grants go: its default policy.
    given = built.job_resource(built.second)["DependsOn"]
    assert (
        built.stack.get_logical_id(
            built.given_role.node.find_child("DefaultPolicy").node.default_child
        )
        in given
    )


def test_a_job_with_its_own_role_costs_two_resources() -> None:
    def count(jobs: int) -> int:
        stack = Stack(App(), "Count")
        bucket = s3.Bucket(stack, "Data")
        for index in range(jobs):
            TrainingJob(
                stack,
                f"Job{index}",
                image=TrainingImage.from_registry(XGBOOST),
                inputs=[TrainingInput.from_bucket("train", bucket, f"{index}/")],
                output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
            )
        return len(Template.from_stack(stack).to_json()["Resources"])

    assert count(3) - count(2) == 2  # the role (grants inline) and the job


def test_attributes_are_the_resource_ref_and_attributes(built: Built) -> None:
    logical_id = built.stack.get_logical_id(built.first.resource.node.default_child)
    assert built.resolve(built.first.training_job_name) == {"Ref": logical_id}
    assert built.resolve(built.first.training_job_arn) == {
        "Fn::GetAtt": [logical_id, "TrainingJobArn"]
    }
    assert built.resolve(built.first.model_data_url) == {
        "Fn::GetAtt": [logical_id, "ModelArtifacts"]
    }
    # Grants to the job land in its own role's inline policy; a given role's own.
    assert built.first.grant_principal.policy_fragment is not None
    assert getattr(built.first.grant_principal, "role", None) is built.first.role
    assert built.second.grant_principal is built.given_role.grant_principal


@pytest.mark.parametrize(
    ("job", "service_timeout", "deadline"),
    [
        # 40 min runtime + 15 min start/upload margin; the handler gives up 5 min earlier.
        ("first", 3300, 3000),
        # The default runtime, 45 min, fills CloudFormation's hour.
        ("second", 3600, 3300),
    ],
)
def test_wait_is_bounded_by_the_max_runtime(
    built: Built, job: str, service_timeout: int, deadline: int
) -> None:
    resource = built.job_resource(getattr(built, job))
    assert resource["Properties"]["ServiceTimeout"] == str(service_timeout)
    assert resource["Properties"]["WaitTimeoutSeconds"] == deadline


def test_short_jobs_still_leave_a_delete_time_to_stop() -> None:
    # Without waiting for a quota slot: the minimum, which leaves a delete its time.
    job = _job(max_runtime=Duration.minutes(5), max_quota_wait=Duration.seconds(0))
    resources = Template.from_stack(Stack.of(job)).find_resources("Custom::SageMakerTrainingJob")
    props = next(iter(resources.values()))["Properties"]
    assert props["ServiceTimeout"] == "1800"
    assert props["WaitTimeoutSeconds"] == 1500
    assert "QuotaWaitSeconds" not in props


def test_a_short_job_may_wait_for_a_quota_slot_what_the_hour_leaves() -> None:
    job = _job(max_runtime=Duration.minutes(5))
    resources = Template.from_stack(Stack.of(job)).find_resources("Custom::SageMakerTrainingJob")
    props = next(iter(resources.values()))["Properties"]
    # The whole hour: 5 minutes of run, 15 of start and upload, 5 of headroom, and 35
    # minutes for a slot.
    assert props["ServiceTimeout"] == "3600"
    assert props["WaitTimeoutSeconds"] == 3300
    assert props["QuotaWaitSeconds"] == 2100


def test_provider_is_one_function_and_one_waiting_state_machine(built: Built) -> None:
    """No provider framework: one function, the service token, which polls once per
    invocation; between polls the jobs wait in one state machine, which may invoke
    only that function, and which only that function may start."""
    functions = built.template.find_resources("AWS::Lambda::Function")
    assert [f["Properties"]["Handler"] for f in functions.values()] == ["handler.index.handle"]
    (logical_id, function) = next(iter(functions.items()))
    assert function["Properties"]["Timeout"] == 300
    # No deploy takes more than 10 of the account's concurrent executions.
    assert function["Properties"]["ReservedConcurrentExecutions"] == 10
    name = function["Properties"]["FunctionName"]
    assert name == f"{built.first.provider.job_name_prefix}-sagemaker-jobs"
    token = built.resolve(built.first.provider.service_token)
    assert token == {"Fn::GetAtt": [logical_id, "Arn"]}

    [(machine_id, machine)] = built.template.find_resources(
        "AWS::StepFunctions::StateMachine"
    ).items()
    assert machine["Properties"]["StateMachineName"] == f"{name}-waiting"
    # The handler finds it by its name (no environment variable, no reference).
    assert "Environment" not in function["Properties"]
    assert (
        waiting_state_machine_arn(f"arn:aws:lambda:us-east-1:123456789012:function:{name}")
        == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}-waiting"
    )
    # The definition deployed is the one tests/simulation.py runs, for this function.
    definition = json.loads(machine["Properties"]["DefinitionString"])
    assert definition == waiting.definition("${Handler}")
    [function_arn] = machine["Properties"]["DefinitionSubstitutions"].values()
    assert f':function:{name}"' in json.dumps(function_arn)
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"

    handler_actions = {
        json.dumps(s["Action"]) for s in built.policy_statements(built.first.provider.role)
    }
    assert '"lambda:InvokeFunction"' not in handler_actions  # it no longer invokes itself
    [start] = [
        s
        for s in built.policy_statements(built.first.provider.role)
        if s["Action"] == "states:StartExecution"
    ]
    assert start["Resource"] == {"Ref": machine_id}
    machine_role = built.template.find_resources("AWS::IAM::Policy")
    invokes = [
        statement
        for policy in machine_role.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "lambda:InvokeFunction"
    ]
    assert invokes == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": function_arn}
    ]


# -- the execution role -------------------------------------------------------


def test_execution_role_is_assumed_by_sagemaker_only(built: Built) -> None:
    role = built.template.find_resources("AWS::IAM::Role")[
        built.stack.get_logical_id(built.first.role.node.default_child)
    ]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
        }
    ]


def test_execution_role_grants_exactly_what_the_job_uses(built: Built) -> None:
    statements = built.policy_statements(built.first.role)
    data_arn = built.resolve(built.data.bucket_arn)
    models_arn = built.resolve(built.models.bucket_arn)
    key_arn = built.resolve(built.models.encryption_key.key_arn)  # type: ignore[union-attr]

    def objects(bucket_arn: Any, prefix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [bucket_arn, f"/{prefix}*"]]}

    def logs_arn(suffix: str) -> dict[str, Any]:
        return {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    f":logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs{suffix}",
                ],
            ]
        }

    expected = [
        {
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":ecr:us-east-1:683313688378:repository/sagemaker-xgboost",
                    ],
                ]
            },
        },
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": objects(data_arn, "train/")},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["train/*"]}},
            "Effect": "Allow",
            "Resource": data_arn,
        },
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": objects(data_arn, "validation/"),
        },
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["validation/*"]}},
            "Effect": "Allow",
            "Resource": data_arn,
        },
        {
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Effect": "Allow",
            "Resource": objects(models_arn, "models/"),
        },
        {
            "Action": [
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
            ],
            "Effect": "Allow",
            "Resource": key_arn,
        },
    ]
    assert permissions(statements) == permissions(expected)


def test_what_every_job_needs_alike_is_one_shared_managed_policy(built: Built) -> None:
    policy = built.first.provider.execution_policy
    policy_id = built.stack.get_logical_id(policy.node.default_child)
    resource = built.template.find_resources("AWS::IAM::ManagedPolicy")[policy_id]

    def logs_arn(suffix: str) -> dict[str, Any]:
        return {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    f":logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs{suffix}",
                ],
            ]
        }

    assert permissions(resource["Properties"]["PolicyDocument"]["Statement"]) == permissions(
        [
            {
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Effect": "Allow",
                "Resource": [logs_arn(""), logs_arn(":log-stream:*")],
            },
            {
                "Action": "cloudwatch:PutMetricData",
                "Condition": {
                    "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}
                },
                "Effect": "Allow",
                "Resource": "*",
            },
            {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
        ]
    )
    roles = built.template.find_resources("AWS::IAM::Role")
    own = roles[built.stack.get_logical_id(built.first.role.node.default_child)]
    assert own["Properties"]["ManagedPolicyArns"] == [{"Ref": policy_id}]
    # A given role also gets the managed policy that holds its jobs' grants.
    given = roles[built.stack.get_logical_id(built.given_role.node.default_child)]
    grants = built.stack.get_logical_id(
        built.given_role.node.find_child("TrainingJobGrants1").node.default_child
    )
    assert sorted(a["Ref"] for a in given["Properties"]["ManagedPolicyArns"]) == sorted(
        [policy_id, grants]
    )


def test_given_role_gets_the_grants_and_ecr_repository_pull(built: Built) -> None:
    granted = permissions(built.policy_statements(built.given_role))
    repo_arn = json.dumps(built.resolve(built.repository.repository_arn), sort_keys=True)
    on_repository = {(action, condition) for _, action, r, condition in granted if r == repo_arn}
    assert on_repository == {
        (action, "null")
        for action in (
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        )
    }
    data_arn = built.resolve(built.data.bucket_arn)
    # The whole-bucket channel: no prefix condition, objects "*".
    assert (
        permissions(
            [
                {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": data_arn},
                {
                    "Action": "s3:GetObject",
                    "Effect": "Allow",
                    "Resource": {"Fn::Join": ["", [data_arn, "/*"]]},
                },
            ]
        )
        <= granted
    )


# -- the provider -------------------------------------------------------------


def test_one_provider_for_all_jobs_of_the_stack(built: Built) -> None:
    functions = built.template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.index.handle"}}
    )
    assert len(functions) == 1
    tokens = {
        str(resource["Properties"]["ServiceToken"])
        for resource in built.template.find_resources("Custom::SageMakerTrainingJob").values()
    }
    assert len(tokens) == 1
    assert TrainingJobProvider.of(built.stack) is built.first.provider is built.second.provider


def test_provider_acts_only_on_this_stacks_jobs(built: Built) -> None:
    granted = permissions(built.policy_statements(built.first.provider.role))
    prefix = built.first.provider.job_name_prefix
    on_jobs = {
        (action, json.loads(resource))
        for _, action, resource, _ in granted
        if action.startswith("sagemaker:")
    }
    actions = [
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
        "sagemaker:DeleteTrainingJob",
        "sagemaker:UpdateTrainingJob",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "sagemaker:ListTags",
    ]
    jobs = [
        f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
        for name in (f"{prefix}-*", "Fixed-Name-1", "fixed-name-1")
    ]
    assert on_jobs == {(action, job) for action in actions for job in jobs}


def test_provider_passes_only_its_jobs_roles_to_sagemaker(built: Built) -> None:
    statements = built.policy_statements(built.first.provider.role)
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": [
                built.resolve(built.first.role.role_arn),
                built.resolve(built.given_role.role_arn),
            ],
        }
    ]


def test_provider_reads_the_status_of_its_own_stack_only(built: Built) -> None:
    # A rollback must not start a job: the handler tells it by the stack's status.
    statements = built.policy_statements(built.first.provider.role)
    stack_reads = [s for s in statements if "cloudformation" in json.dumps(s["Action"])]
    assert stack_reads == [
        {
            "Action": "cloudformation:DescribeStacks",
            "Effect": "Allow",
            "Resource": {"Ref": "AWS::StackId"},
        }
    ]


def test_handler_functions_run_python_3_14_with_retained_logs(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.index.handle",
            "Runtime": "python3.14",
            "Role": built.resolve(built.first.provider.role.role_arn),
            "LoggingConfig": {"LogGroup": Match.any_value()},
        },
    )


# -- validation ---------------------------------------------------------------


def _job(**overrides: Any) -> TrainingJob:
    stack = Stack(App(), "Check")
    bucket = s3.Bucket(stack, "B")
    props: dict[str, Any] = {
        "image": TrainingImage.from_registry(XGBOOST),
        "inputs": [TrainingInput.from_bucket("train", bucket, "t/")],
        "output": TrainingOutput.to_bucket(bucket),
    }
    props.update({k: (v(bucket) if callable(v) else v) for k, v in overrides.items()})
    return TrainingJob(stack, "Job", **props)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"training_job_name": "bad_name"},
            r"^\[Check/Job\] TrainingJobName \(training_job_name\): 'bad_name' is invalid: "
            r"must match the pattern \[a-zA-Z0-9\]",
        ),
        (
            {"training_job_name": "a" * 64},
            r"TrainingJobName \(training_job_name\): 'a{64}' is invalid: must have at most 63 "
            "characters",
        ),
        (
            {"inputs": lambda b: [TrainingInput.from_bucket(f"c{i}", b) for i in range(21)]},
            r"^\[Check/Job\] InputDataConfig \(inputs\): 21 is invalid: must have at most 20 "
            "items$",
        ),
        (
            {"inputs": lambda b: [TrainingInput.from_bucket("x", b)] * 2},
            r"InputDataConfig\[1\].ChannelName \(inputs\): 'x' is invalid: must be unique",
        ),
        (
            {"instance_count": 0},
            r"ResourceConfig.InstanceCount \(instance_count\): 0 is invalid: must be at least 1",
        ),
        (
            {"max_runtime": Duration.days(29)},
            r"StoppingCondition.MaxRuntimeInSeconds \(max_runtime\): 2505600 is invalid: "
            r"SageMaker runs a job for 28 days at most$",
        ),
        (
            {"hyperparameters": {str(i): "v" for i in range(101)}},
            r"HyperParameters \(hyperparameters\): 101 is invalid: must have at most 100 "
            "entries",
        ),
        (
            {"tags": {"aws:owner": "me"}},
            r"Tags\[0\].Key \(tags\): 'aws:owner' is invalid: the 'aws:' prefix is reserved",
        ),
        (
            {"tags": {f"k{i:02d}": "v" for i in range(48)}},
            r"Tags \(tags\): 48 is invalid: must have at most 46 tags \(SageMaker allows 50; "
            "the library adds 4",
        ),
        (
            {"max_runtime": Duration.minutes(46)},
            r"^\[Check/Job\] StoppingCondition.MaxRuntimeInSeconds \(max_runtime\): 2760 is "
            r"invalid: the deployment waits for the job \(Completion.wait\(\)\), and "
            r"CloudFormation waits for a "
            r"resource at most one hour.*at most 2700 seconds \(45 minutes\). For this job use "
            r"completion=Completion.wait_condition\(\).$",
        ),
        ({"removal_policy": RemovalPolicy.SNAPSHOT}, r"removal_policy: .*RETAIN or DESTROY"),
    ],
)
def test_invalid_props_fail_at_synth_naming_path_field_value_rule(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _job(**overrides)


def test_instance_type_must_be_an_ml_type() -> None:
    with pytest.raises(ValueError, match=r"'m5.xlarge' is invalid: .*'ml.<family>.<size>'"):
        InstanceType.of("m5.xlarge")


def test_a_provider_without_jobs_fails_validation() -> None:
    stack = Stack(App(), "Empty")
    TrainingJobProvider.of(stack)
    with pytest.raises(RuntimeError, match="serves no job \\(a TrainingJob"):
        Template.from_stack(stack)


def test_jobs_can_be_added_after_the_provider_policy_was_resolved() -> None:
    stack = Stack(App(), "Twice")
    bucket = s3.Bucket(stack, "B")
    first = TrainingJob(
        stack,
        "A",
        image=TrainingImage.from_registry(XGBOOST),
        output=TrainingOutput.to_bucket(bucket),
    )
    policy = first.provider.role.node.find_child("DefaultPolicy")
    stack.resolve(policy.document)  # type: ignore[attr-defined] # freezes its statements
    second = TrainingJob(
        stack,
        "B2",
        image=TrainingImage.from_registry(XGBOOST),
        output=TrainingOutput.to_bucket(bucket),
    )
    template = Template.from_stack(stack)
    pass_roles = [
        resource
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "iam:PassRole"
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    ]
    # The frozen statement keeps the first role; the second gets a statement of its own.
    assert pass_roles == [stack.resolve(first.role.role_arn), stack.resolve(second.role.role_arn)]
