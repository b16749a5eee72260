"""One stack: a bucket, a TrainingJob on SageMaker's built-in XGBoost, and a CfnModel
that serves the trained artifacts."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Duration, Environment, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib import (
    InstanceType,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)

# SageMaker's built-in XGBoost 1.7-1 image, published per region by AWS.
XGBOOST_IMAGES = {
    "us-east-1": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
}


class TrainAndServeStack(Stack):
    """Train XGBoost on CSV data in a bucket and create a model from the result."""

    def __init__(
        self, scope: Construct, construct_id: str, *, instance_type: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        region = self.region
        if region not in XGBOOST_IMAGES:
            raise ValueError(
                f"sample:region {region!r} is not supported by the sample; "
                f"use one of {sorted(XGBOOST_IMAGES)}"
            )
        image = TrainingImage.from_registry(XGBOOST_IMAGES[region])

        bucket = s3.Bucket(
            self,
            "Data",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        output = TrainingOutput.to_bucket(bucket, "models/")
        job = TrainingJob(
            self,
            "Train",
            image=image,
            inputs=[
                TrainingInput.from_bucket("train", bucket, "train/", content_type="text/csv"),
                TrainingInput.from_bucket(
                    "validation", bucket, "validation/", content_type="text/csv"
                ),
            ],
            output=output,
            instance_type=InstanceType.of(instance_type),
            volume_size=Size.gibibytes(10),
            max_runtime=Duration.minutes(30),
            hyperparameters={
                "objective": "reg:squarederror",
                "num_round": "50",
                "max_depth": "3",
            },
            tags={"project": "constructs-lib-sample"},
        )

        model_role = iam.Role(
            self, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        output.grant_read(model_role)
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=model_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image.image_uri,
                model_data_url=job.model_data_url,
            ),
        )
        model.node.add_dependency(model_role)


def build_app(app: App | None = None) -> App:
    """The sample app, configured from ``cdk.json`` context."""
    app = app or App()
    region = app.node.try_get_context("sample:region") or "us-east-1"
    instance_type = app.node.try_get_context("sample:instanceType") or "ml.m5.xlarge"
    TrainAndServeStack(
        app,
        "TrainAndServe",
        env=Environment(region=region),
        instance_type=instance_type,
    )
    return app
