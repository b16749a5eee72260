"""The stack's waiting state machine: where a job's deployment waits between polls
without holding a Lambda execution (see ``handler/waiter.py``).

The handler's first invocation (CloudFormation's) starts the work and polls once; work
not done goes on in an execution of this state machine, named after the event: a Wait
state of the query interval (no Lambda runs, nothing is billed but the transitions),
then the handler invoked with the state, which polls once and returns the state for
the next wait, or no wait once it answered CloudFormation. A throttled invocation (the
function's reserved concurrency in use) is retried with backoff inside Step Functions;
a function that keeps crashing is invoked once more with the failure, to answer
CloudFormation FAILED instead of leaving it waiting for the hour.

One state machine per stack, whatever the number of jobs: its role, its log group.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._shared.stacks import stack_of
from ..handler.properties import FAILURE, MAX_SERVICE_TIMEOUT_SECONDS, WAIT, WAITING_SUFFIX
from . import compliance
from .options import ProviderOptions

#: Lambda's answers to an invocation it did not run: retried inside Step Functions.
NOT_RUN_ERRORS = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)
#: Retries of an invocation Lambda throttled (the reserved concurrency is in use): up
#: to 20 s apart, with full jitter, for longer than any resource's budget.
THROTTLED_RETRY: dict[str, Any] = {
    "ErrorEquals": list(NOT_RUN_ERRORS),
    "IntervalSeconds": 1,
    "BackoffRate": 2,
    "MaxDelaySeconds": 20,
    "MaxAttempts": 400,
    "JitterStrategy": "FULL",
}
#: Retries of an invocation that crashed (out of memory, timeout): the work is
#: idempotent, so twice more, then the failure is reported.
CRASHED_RETRY: dict[str, Any] = {
    "ErrorEquals": ["States.ALL"],
    "IntervalSeconds": 10,
    "BackoffRate": 2,
    "MaxAttempts": 2,
}


def definition(function_arn: str) -> dict[str, Any]:
    """The state machine (Amazon States Language) that polls through ``function_arn``."""

    def invoke(**rest: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            **rest,
        }

    return {
        "Comment": "Waits between polls of a SageMaker job's deployment (constructs_lib)",
        "StartAt": "Wait",
        "TimeoutSeconds": 2 * MAX_SERVICE_TIMEOUT_SECONDS,
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": f"$.{WAIT}", "Next": "Poll"},
            "Poll": invoke(
                Retry=[THROTTLED_RETRY, CRASHED_RETRY],
                Catch=[
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": f"$.{FAILURE}",
                        "Next": "ReportFailure",
                    }
                ],
                Next="Answered?",
            ),
            "Answered?": {
                "Type": "Choice",
                "Choices": [{"Variable": f"$.{WAIT}", "IsPresent": True, "Next": "Wait"}],
                "Default": "Answered",
            },
            "Answered": {"Type": "Succeed"},
            "ReportFailure": invoke(Retry=[THROTTLED_RETRY], End=True),
        },
    }


def grant_encrypted_start(
    caller: iam.IGrantable, state_machine: sfn.IStateMachine, key: kms.IKey | None
) -> None:
    """What ``caller`` needs besides ``states:StartExecution`` when ``key`` encrypts the
    state machine: starting an execution encrypts its input with the key (scoped to
    that state machine by the key's encryption context)."""
    if key is None:
        return
    caller.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:EncryptionContext:aws:states:stateMachineArn": (
                        state_machine.state_machine_arn
                    )
                }
            },
        )
    )


def waiting_state_machine(
    scope: Construct,
    options: ProviderOptions,
    *,
    function_name: str,
    log_group: logs.ILogGroup,
    caller: iam.IGrantable,
) -> sfn.StateMachine:
    """The stack's waiting state machine, invoking the handler function named
    ``function_name`` (by name: the function refers to the state machine), started by
    ``caller``. Named after the function (``<function name>-waiting``): the handler
    finds it so, and with the configured key, the key's grants name its ARN in their
    encryption context."""
    function_arn = stack_of(scope).format_arn(
        service="lambda",
        resource="function",
        resource_name=function_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    key = options.encryption_key
    state_machine = sfn.StateMachine(
        scope,
        "Waiting",
        state_machine_name=f"{function_name}{WAITING_SUFFIX}",
        comment="Waits between the polls of this stack's SageMaker jobs",
        definition_body=sfn.DefinitionBody.from_string(json.dumps(definition("${Handler}"))),
        definition_substitutions={"Handler": function_arn},
        timeout=Duration.seconds(2 * MAX_SERVICE_TIMEOUT_SECONDS),
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        tracing_enabled=options.tracing,
        encryption_configuration=(
            sfn.CustomerManagedEncryptionConfiguration(key) if key is not None else None
        ),
    )
    state_machine.add_to_role_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function_arn])
    )
    state_machine.grant_start_execution(caller)
    grant_encrypted_start(caller, state_machine, key)
    compliance.acknowledge_state_machine(state_machine, options)
    return state_machine
