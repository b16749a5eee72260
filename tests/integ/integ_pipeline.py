"""Integration test: the sample's pipeline variant (``-c sample:pipeline=true``) on a
platform the destroy removes. A processing job prepares the shipped data, the script
trains on it, a second processing job evaluates the model on the held-out test set (a
quality gate on its report), the model is registered and served from an endpoint, and
a batch transform scores the test set. After the deploy, SageMaker describes every job
as Completed and the endpoint as InService, and the predictions are in the bucket."""

from __future__ import annotations

import os
from typing import Any

from _support import (
    INSTANCE_TYPE,
    disposable_bucket,
    expect_completed,
    expect_object,
    import_sample_app,
)
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import integ_tests_alpha as integ
from constructs import Construct

from constructs_lib import ProcessingJob, TrainingJob, TransformJob

import_sample_app()
from sample_app.app import Platform, TrainAndServeStack  # noqa: E402


class DisposablePlatform(Stack):
    """The sample's platform (an isolated VPC reaching S3 through a gateway endpoint, a
    key, a bucket) as the destroy removes it."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="training", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.platform = Platform(vpc=vpc, key=key, bucket=disposable_bucket(self))


def _child(stack: Stack, construct_id: str) -> Any:
    return stack.node.find_child(construct_id)


app = App()
# The sample names its region in its acknowledgments: the deploy's (the CDK CLI sets
# CDK_DEFAULT_REGION from your profile or AWS_REGION), else us-east-1 (the snapshot's).
env = Environment(region=os.environ.get("CDK_DEFAULT_REGION") or "us-east-1")
platform = DisposablePlatform(app, "ConstructsLibIntegPlatform", env=env)
pipeline = TrainAndServeStack(
    app,
    "ConstructsLibIntegPipeline",
    env=env,
    instance_type=INSTANCE_TYPE,
    endpoint_instance_type="ml.m5.large",
    platform=platform.platform,
    pipeline=True,
)
prepare: ProcessingJob = _child(pipeline, "Prepare")
train: TrainingJob = _child(pipeline, "Train")
evaluate: ProcessingJob = _child(pipeline, "Evaluate")
score: TransformJob = _child(pipeline, "Score")
endpoint: sagemaker.CfnEndpoint = _child(pipeline, "Endpoint")

test = integ.IntegTest(
    app,
    "SamplePipeline",
    test_cases=[platform, pipeline],
    # In the stacks' region: it reads their resources.
    assertion_stack=Stack(app, "ConstructsLibIntegPipelineAssertions", env=env),
    stack_update_workflow=False,
)
expect_completed(test, "processing", prepare.processing_job_name)
expect_completed(test, "training", train.training_job_name)
expect_completed(test, "processing", evaluate.processing_job_name)
expect_completed(test, "transform", score.transform_job_name)
serving = test.assertions.aws_api_call(
    "SageMaker", "describeEndpoint", {"EndpointName": endpoint.attr_endpoint_name}
)
serving.expect(integ.ExpectedResult.object_like({"EndpointStatus": "InService"}))
# The transform writes <input file>.out: the prepared test.csv's predictions.
expect_object(
    test,
    platform.platform.bucket,
    f"predictions/{score.transform_job_name}/test.csv.out",
    encryption_key=platform.platform.key,
)
app.synth()
