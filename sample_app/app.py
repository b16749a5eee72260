"""The sample: train SageMaker's built-in XGBoost on data shipped with the app, in an
isolated VPC, then serve the model from an endpoint. One stack, one ``cdk deploy``.
With ``-c sample:tuning=true`` a hyperparameter tuning job searches eta and max_depth
instead, and the endpoint serves its best model. With ``-c sample:training=script``
the job trains the app's own scikit-learn script (``code/``) on SageMaker's
scikit-learn container, and the endpoint serves it with the same code. With
``-c sample:queue=true`` the job goes through an AWS Batch queue (a TrainingQueue of
2 instances): Batch starts it when the queue has room, and the deploy waits for
Batch's event. With ``-c sample:promote=true`` only a model whose validation RMSE
passes a quality gate is used: it is registered as a version of a model package group,
the endpoint serves that version, and a nightly schedule retrains outside the deploy,
registering each run's model as a new version. With ``-c sample:pipeline=true`` the
deploy runs a whole pipeline: a processing job prepares the shipped data (train,
validation and a held-out test set), the script trains on what it prepared, a second
processing job evaluates the model on the test set and writes a report, whose MSE a
quality gate bounds, and the model is registered with that report, then served; the
served model scores the held-out test set in a batch transform."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    App,
    Aws,
    CfnOutput,
    CfnResource,
    Duration,
    Environment,
    RemovalPolicy,
    Size,
    Stack,
    Validations,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from constructs_lib import (
    AssembleWith,
    BatchStrategy,
    Checkpoint,
    Completion,
    ContinuousRange,
    DataProcessing,
    EvaluationReport,
    HyperparameterTuningJob,
    InstanceType,
    IntegerRange,
    JoinSource,
    MetricDefinition,
    MetricThreshold,
    ModelApproval,
    ModelPackageGroup,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    SplitType,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingJobProvider,
    TrainingOutput,
    TrainingQueue,
    TransformInput,
    TransformJob,
    TransformOutput,
    TuningObjective,
)

DATA = Path(__file__).resolve().parent / "data"
#: The worst validation RMSE a promoted model may have (``-c sample:promote=true``).
MAX_VALIDATION_RMSE = 5.0
#: The sample's own training (and serving) code, for ``-c sample:training=script``.
CODE = Path(__file__).resolve().parent / "code"
#: The pipeline's preparation and evaluation code (``-c sample:pipeline=true``).
PIPELINE = Path(__file__).resolve().parent / "pipeline"
#: The worst test-set MSE an evaluated model may have (``-c sample:pipeline=true``).
MAX_TEST_MSE = MAX_VALIDATION_RMSE**2


@dataclass(frozen=True)
class Platform:
    """What a training stack consumes: an isolated VPC, a key and a bucket."""

    vpc: ec2.IVpc
    key: kms.IKey
    bucket: s3.IBucket


def build_platform(scope: Construct) -> Platform:
    """The VPC (isolated, S3 gateway endpoint, flow logs), the KMS key and the model
    bucket (with its access-log bucket), in ``scope``."""
    # A VPC without internet access: the job reaches S3 through a gateway endpoint.
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="training", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    flow_logs = logs.LogGroup(scope, "FlowLogs", retention=logs.RetentionDays.ONE_YEAR)
    vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
    flow_logs_reason = (
        "Flow logs hold connection metadata only; CloudWatch Logs encrypts them at rest."
    )
    _acknowledge(flow_logs, "CloudWatchLogGroupEncrypted", flow_logs_reason)
    _acknowledge_guardrails(
        flow_logs,
        flow_logs_reason,
        checkov=["CKV_AWS_158"],
        control_tower=["cloudwatch_log_group_encrypted_check"],
    )
    _acknowledge(
        vpc,
        "IAMNoInlinePolicy",
        "aws-cdk-lib's flow log role writes to its one log group through its own default policy.",
    )
    _acknowledge(
        vpc,
        "VPCDefaultSecurityGroupClosed",
        "Nothing uses the VPC's default security group: the training job has its own, "
        "which allows no inbound traffic.",
    )

    key = kms.Key(
        scope,
        "Key",
        enable_key_rotation=True,
        description="Encrypts the training volume and the model artifacts",
    )
    # Grants on the key only for AWS services acting for a resource (SageMaker
    # attaching the encrypted volume, Lambda, CloudWatch Logs), never for a principal
    # acting on its own (Control Tower's CT.KMS.PR.3).
    key.add_to_resource_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )
    # Both buckets expire old object versions and unfinished uploads.
    lifecycle = [
        s3.LifecycleRule(
            abort_incomplete_multipart_upload_after=Duration.days(7),
            noncurrent_version_expiration=Duration.days(90),
        )
    ]
    access_logs = s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        lifecycle_rules=lifecycle,
        removal_policy=RemovalPolicy.RETAIN,
    )
    _acknowledge_guardrails(
        access_logs,
        "This bucket receives the server access logs of the model bucket; logging its "
        "own access would loop.",
        checkov=["CKV_AWS_18"],
        control_tower=["s3_bucket_logging_enabled_check"],
    )
    _acknowledge_guardrails(
        access_logs,
        "S3 server access logging delivers only to buckets encrypted with S3-managed "
        "keys (SSE-S3), not SSE-KMS.",
        control_tower=["s3_bucket_default_encryption_kms_check"],
    )
    _acknowledge(
        access_logs,
        "S3BucketLoggingEnabled",
        "This bucket receives the server access logs of the model bucket; logging its "
        "own access would loop.",
        aws_solutions="S1",
    )
    _acknowledge(
        access_logs,
        "S3DefaultEncryptionKMS",
        "S3 server access logging delivers only to buckets encrypted with S3-managed "
        "keys (SSE-S3), not SSE-KMS.",
    )
    _acknowledge(
        access_logs,
        "S3BucketReplicationEnabled",
        "Access logs of a sample; a second region's copy is not worth its cost here.",
    )
    bucket = s3.Bucket(
        scope,
        "Models",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="models/",
        lifecycle_rules=lifecycle,
    )
    for sample_bucket in (access_logs, bucket):
        _acknowledge_guardrails(
            sample_bucket,
            "A sample's buckets: Object Lock would keep every artifact and log for its "
            "retention, so the sample could not be destroyed; versioning and the "
            "lifecycle rules keep what is overwritten for 90 days instead.",
            control_tower=["s3_bucket_object_lock_enabled_check"],
        )
        _acknowledge_guardrails(
            sample_bucket,
            "Nothing in the sample reacts to object events: the deployment itself waits "
            "for the training job.",
            control_tower=["s3_event_notifications_enabled_check"],
        )
    _acknowledge(
        bucket,
        "S3BucketReplicationEnabled",
        "The sample's model artifacts can be trained again from the data in the "
        "repository; a replica in a second region is not worth its cost here.",
    )
    _acknowledge_vpc_helpers(Stack.of(scope))
    return Platform(vpc=vpc, key=key, bucket=bucket)


class DataPlatformStack(Stack):
    """The platform as its own stack, owned by another team, say."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.platform = build_platform(self)


class TrainAndServeStack(Stack):
    """Data -> training job (isolated VPC, KMS) -> model -> endpoint config -> endpoint."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_type: str,
        endpoint_instance_type: str,
        platform: Platform | None = None,
        long_job: bool = False,
        guardrails: bool = False,
        tuning: bool = False,
        script: bool = False,
        queue: bool = False,
        promote: bool = False,
        pipeline: bool = False,
        **kwargs: Any,
    ) -> None:
        """:param platform: the VPC, key and bucket to use; default: built in this stack.
        :param long_job: train as a long job would: up to 2 hours of training (3 with
            spot capacity), waited for through a wait condition signalled by the job's
            state-change event; default: up to 30 minutes, waited for by polling.
        :param guardrails: the library's provider runs in the isolated VPC (with the
            interface endpoints its functions call), encrypts with the key and traces
            with X-Ray, as organisations that enforce Control Tower's proactive controls
            require; default: the provider's defaults.
        :param tuning: tune eta and max_depth with a hyperparameter tuning job (4
            training jobs, 2 at a time) and serve the best model; default: one
            training job with fixed hyperparameters.
        :param script: train the app's own scikit-learn script (``code/train.py``)
            on SageMaker's scikit-learn container, with typed hyperparameters, and
            serve it with the same code (repacked into the model, which runs
            without network access); default: the built-in XGBoost.
        :param queue: submit the training job to an AWS Batch queue of 2 instances
            (``TrainingQueue``): Batch starts it when the queue has room, and the
            deployment waits for Batch's state-change event (a wait condition);
            default: SageMaker starts the job at once.
        :param promote: gate the model on its validation RMSE (at most
            ``MAX_VALIDATION_RMSE``), register it in a model package group, serve the
            registered version, and retrain nightly into the group; default: the
            endpoint serves what the deploy trained, whatever its metrics.
        :param pipeline: prepare the data with a processing job, train the script on
            what it prepared, evaluate the model on the held-out test set with a second
            processing job whose report's MSE a quality gate bounds, register the model
            with that report, serve the registered version, and score the test set with
            it in a batch transform; default: train on the shipped CSVs as they are."""
        super().__init__(scope, construct_id, **kwargs)

        platform = platform or build_platform(self)
        vpc, key, bucket = platform.vpc, platform.key, platform.bucket
        if guardrails:
            _guardrails(self, vpc=vpc, key=key, queue=queue)

        _check_choices(script=script, tuning=tuning, queue=queue, pipeline=pipeline)
        # The pipeline trains the script: its evaluation loads the model it saves.
        script = script or pipeline
        image, code, hyperparameters = _what_trains(script=script)
        inputs = [
            TrainingInput.from_asset("train", str(DATA / "train.csv"), content_type="text/csv"),
            TrainingInput.from_asset(
                "validation", str(DATA / "validation.csv"), content_type="text/csv"
            ),
        ]
        prepared: ProcessingJob | None = None
        if pipeline:
            prepared = _prepare(self, vpc=vpc, key=key, bucket=bucket)
            inputs = [
                TrainingInput.from_processing_output(
                    channel, prepared, channel, content_type="text/csv"
                )
                for channel in ("train", "validation")
            ]
        metric_definitions = [
            MetricDefinition(name="validation:rmse", regex=r"validation-rmse:([0-9.]+)")
        ]
        # A job longer than CloudFormation's hour is waited for by a wait condition
        # (up to 12 hours); the model below then reads a result resource created
        # after it.
        # A queued job waits for capacity as long as the queue needs: a wait condition
        # signalled by Batch's event (the default of a queued job).
        completion = Completion.wait_condition() if long_job or queue else Completion.wait()
        # Promoting: no model worse than this reaches the endpoint (the deploy fails,
        # and an update keeps serving the previous model).
        gate = (
            [MetricThreshold("validation:rmse", at_most=MAX_VALIDATION_RMSE)] if promote else None
        )
        source: TrainingJob | HyperparameterTuningJob
        if tuning:
            source = HyperparameterTuningJob(
                self,
                "Tune",
                training=TrainingDefinition(
                    image=image,
                    inputs=inputs,
                    output=TrainingOutput.to_bucket(bucket, "tuning/", encryption_key=key),
                    instance_type=InstanceType.of(instance_type),
                    volume_size=Size.gibibytes(10),
                    volume_encryption_key=key,
                    # Each training job; the tuning job as a whole gets what its
                    # completion mode can wait for (45 minutes, or 11 h 45 min).
                    max_runtime=Duration.hours(1) if long_job else Duration.minutes(15),
                    spot_training=True,
                    max_wait=Duration.hours(2) if long_job else Duration.minutes(20),
                    checkpoint=Checkpoint.to_bucket(bucket, "tuning-checkpoints/"),
                    vpc=vpc,
                    hyperparameters={"objective": "reg:squarederror", "num_round": "50"},
                    metric_definitions=metric_definitions,
                ),
                objective=TuningObjective.minimize("validation:rmse"),
                ranges=[ContinuousRange("eta", 0.05, 0.5), IntegerRange("max_depth", 2, 8)],
                max_jobs=4,
                max_parallel_jobs=2,
                completion=completion,
                tags={"project": "constructs-lib-sample"},
                quality_gate=gate,
            )
        else:
            source = TrainingJob(
                self,
                "Train",
                image=image,
                inputs=inputs,
                output=TrainingOutput.to_bucket(bucket, "models/", encryption_key=key),
                instance_type=InstanceType.of(instance_type),
                volume_size=Size.gibibytes(10),
                volume_encryption_key=key,
                max_runtime=Duration.hours(2) if long_job else Duration.minutes(30),
                # Managed spot training: waiting for capacity counts against max_wait,
                # with checkpoints so an interrupted job resumes instead of starting over.
                spot_training=True,
                max_wait=Duration.hours(3) if long_job else Duration.minutes(45),
                completion=completion,
                checkpoint=Checkpoint.to_bucket(bucket, "checkpoints/"),
                vpc=vpc,
                code=code,
                hyperparameters=hyperparameters,
                metric_definitions=metric_definitions,
                tags={"project": "constructs-lib-sample"},
                queue=TrainingQueue(self, "Queue", max_instances=2) if queue else None,
                quality_gate=gate,
            )

        model_role = iam.Role(
            self,
            "ModelRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the endpoint that serves the trained model",
        )
        source.grant_read_model_artifacts(model_role)
        # Spelled out (not format_arn, whose partition is a literal or a reference
        # depending on the app's feature flags) so the acknowledgment below names it.
        endpoint_logs = (
            f"arn:{Aws.PARTITION}:logs:{self.region}:{Aws.ACCOUNT_ID}:log-group:"
            "/aws/sagemaker/Endpoints/*"
        )
        model_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[endpoint_logs, f"{endpoint_logs}:log-stream:*"],
            )
        )
        Validations.of(model_role).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{self.region}:"
                    f"<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*{suffix}]",
                    reason="SageMaker names the endpoint's log groups and streams after the "
                    "endpoint, which CloudFormation names at deploy time.",
                )
                for suffix in ("", ":log-stream:*")
            )
        )
        _acknowledge(
            model_role,
            "IAMNoInlinePolicy",
            "The model role's grants live in its own default policy, scoped to this "
            "model's artifacts and logs.",
        )

        # The model reads the (best) model's URL: CloudFormation creates it (and the
        # endpoint after it) only once training (or tuning) completed.
        model_data_url = (
            source.best_model_data_url
            if isinstance(source, HyperparameterTuningJob)
            else source.model_data_url
        )
        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            image=source.training_image_uri, model_data_url=model_data_url
        )
        if isinstance(source, TrainingJob) and script:
            # scikit-learn's serving container runs the script's model_fn; without
            # network access the code goes into the model (a repack job).
            container = source.inference_container(
                entry_point="train.py",
                instance_type=endpoint_instance_type,
                role=model_role,
                network_isolation=True,
            )
        if promote:
            container = _promote(self, source, container, endpoint_instance_type, model_role)
        if prepared is not None and isinstance(source, TrainingJob):
            container = _evaluate_and_register(
                self,
                source,
                prepared,
                container,
                endpoint_instance_type=endpoint_instance_type,
                model_role=model_role,
                platform=Platform(vpc=vpc, key=key, bucket=bucket),
            )
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=model_role.role_arn,
            # The model serves without network access.
            enable_network_isolation=True,
            primary_container=container,
        )
        model.node.add_dependency(model_role)
        config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    model_name=model.attr_model_name,
                    variant_name="AllTraffic",
                    initial_instance_count=1,
                    instance_type=endpoint_instance_type,
                    initial_variant_weight=1,
                )
            ],
            kms_key_id=key.key_arn,
        )
        endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint", endpoint_config_name=config.attr_endpoint_config_name
        )

        _outputs(self, source, model_data_url)
        CfnOutput(self, "EndpointName", value=endpoint.attr_endpoint_name)
        if prepared is not None:
            _score(self, model, model_role, prepared, Platform(vpc=vpc, key=key, bucket=bucket))


def _outputs(
    stack: Stack, source: TrainingJob | HyperparameterTuningJob, model_data_url: str
) -> None:
    """What the deploy trained (or tuned), and how well."""
    if isinstance(source, HyperparameterTuningJob):
        CfnOutput(stack, "TuningJobName", value=source.tuning_job_name)
        CfnOutput(stack, "BestTrainingJobName", value=source.best_training_job_name)
        CfnOutput(stack, "ModelDataUrl", value=model_data_url)
        CfnOutput(stack, "ValidationRmse", value=source.best_objective_value)
        CfnOutput(stack, "BestEta", value=source.best_hyperparameter("eta"))
        CfnOutput(stack, "BestMaxDepth", value=source.best_hyperparameter("max_depth"))
    else:
        CfnOutput(stack, "TrainingJobName", value=source.training_job_name)
        CfnOutput(stack, "ModelDataUrl", value=model_data_url)
        CfnOutput(stack, "ValidationRmse", value=source.metric("validation:rmse"))


def _guardrails(stack: Stack, *, vpc: ec2.IVpc, key: kms.IKey, queue: bool) -> None:
    """The library's provider in the isolated VPC (with the interface endpoints its
    functions call), encrypting with the key and tracing with X-Ray."""
    # The provider's functions: HTTPS out only, to the endpoints of what they
    # call (and S3 through its gateway endpoint); only they may use the
    # endpoints.
    functions = ec2.SecurityGroup(
        stack,
        "ProviderFunctions",
        vpc=vpc,
        description="Training job provider functions: HTTPS to AWS APIs only",
        allow_all_outbound=False,
    )
    functions.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")
    for service in TrainingJobProvider.endpoint_services(tracing=True, queues=queue):
        endpoint = vpc.add_interface_endpoint(service.short_name, service=service, open=False)
        endpoint.connections.allow_default_port_from(functions, "Provider functions")
    # Before the first TrainingJob: the provider is built once per stack.
    TrainingJobProvider.configure(
        stack, vpc=vpc, security_groups=[functions], encryption_key=key, tracing=True
    )


def _check_choices(*, script: bool, tuning: bool, queue: bool, pipeline: bool = False) -> None:
    """The sample's context choices that do not go together."""
    if pipeline and tuning:
        raise ValueError(
            "[sample app] context sample:pipeline=true evaluates and registers one "
            "training job's model: drop sample:tuning=true (or sample:pipeline)"
        )
    if script and tuning:
        raise ValueError(
            "[sample app] context sample:training=script trains one job: drop "
            "sample:tuning=true (or sample:training) to choose"
        )
    if queue and tuning:
        raise ValueError(
            "[sample app] context sample:queue=true queues a training job, and AWS "
            "Batch queues no tuning jobs: drop sample:tuning=true (or sample:queue)"
        )


def _promote(
    stack: Stack,
    source: TrainingJob | HyperparameterTuningJob,
    container: sagemaker.CfnModel.ContainerDefinitionProperty,
    endpoint_instance_type: str,
    model_role: iam.IRole,
) -> sagemaker.CfnModel.ContainerDefinitionProperty:
    """Register what ``source`` trained (once its gate passed) as an approved version
    of a model package group, retrain nightly into the group, and return the container
    that serves the registered version."""
    group = ModelPackageGroup(stack, "Registry", description="The sample's house prices model")
    registered = source.register_model(
        group,
        container=container,
        approval=ModelApproval.APPROVED,  # the gate is the approval
        inference_instance_types=[endpoint_instance_type],
        content_types=["text/csv"],
        response_types=["text/csv"],
        description="Trained by the deploy",
    )
    registered.grant_read_model_artifacts(model_role)
    # Nightly retraining outside the deploy: each run is judged by the same gate, and
    # its model becomes a new version of the group, served as the deploy's is: pending
    # approval (for a human or a pipeline) when it passed, rejected when it missed.
    source.retrain_on_schedule(
        scheduler.ScheduleExpression.cron(hour="3", minute="0"),
        register=group,
        container=container,
        inference_instance_types=[endpoint_instance_type],
        content_types=["text/csv"],
        response_types=["text/csv"],
        description="Retrained on schedule",
    )
    CfnOutput(stack, "ModelPackageArn", value=registered.model_package_arn)
    return sagemaker.CfnModel.ContainerDefinitionProperty(
        model_package_name=registered.model_package_arn
    )


def _processing(
    scope: Construct, construct_id: str, platform: Platform, **props: Any
) -> ProcessingJob:
    """A processing job of the pipeline: the sample's code on SageMaker's scikit-learn
    container, in the isolated VPC, its volume and outputs encrypted with the key."""
    return ProcessingJob(
        scope,
        construct_id,
        image=TrainingImage.from_framework("sklearn", "1.2-1"),
        command=["python3"],
        instance_type=InstanceType.of("ml.m5.xlarge"),
        volume_size=Size.gibibytes(10),
        volume_encryption_key=platform.key,
        output_encryption_key=platform.key,
        max_runtime=Duration.minutes(20),
        vpc=platform.vpc,
        tags={"project": "constructs-lib-sample"},
        **props,
    )


def _prepare(
    scope: Construct, *, vpc: ec2.IVpc, key: kms.IKey, bucket: s3.IBucket
) -> ProcessingJob:
    """The pipeline's first step: split the shipped CSVs into train, validation and a
    held-out test set, each its own output (a folder per job, so a rollback keeps the
    previous data)."""
    return _processing(
        scope,
        "Prepare",
        Platform(vpc=vpc, key=key, bucket=bucket),
        code=TrainingCode.from_directory(str(PIPELINE), entry_point="prepare.py"),
        inputs=[
            ProcessingInput.from_asset("shipped-train", str(DATA / "train.csv")),
            ProcessingInput.from_asset("shipped-validation", str(DATA / "validation.csv")),
        ],
        outputs=[
            ProcessingOutput.to_bucket(name, bucket, "prepared/")
            for name in ("train", "validation", "test")
        ],
        arguments=["--seed", "7", "--test-fraction", "0.15"],
    )


def _evaluate_and_register(
    stack: Stack,
    trained: TrainingJob,
    prepared: ProcessingJob,
    container: sagemaker.CfnModel.ContainerDefinitionProperty,
    *,
    endpoint_instance_type: str,
    model_role: iam.IRole,
    platform: Platform,
) -> sagemaker.CfnModel.ContainerDefinitionProperty:
    """Evaluate the model on the held-out test set (a processing job whose report's MSE
    the gate bounds), register it with that report as an approved version, and return
    the container that serves the version."""
    evaluation = _processing(
        stack,
        "Evaluate",
        platform,
        code=TrainingCode.from_directory(str(PIPELINE), entry_point="evaluate.py"),
        inputs=[
            ProcessingInput.from_training_job("model", trained),
            ProcessingInput.from_processing_output("test", prepared, "test"),
        ],
        outputs=[ProcessingOutput.to_bucket("evaluation", platform.bucket, "evaluation/")],
        report=EvaluationReport(
            output="evaluation",
            path="evaluation.json",
            metrics={
                "mse": "regression_metrics.mse.value",
                "rmse": "regression_metrics.rmse.value",
            },
        ),
        quality_gate=[MetricThreshold("mse", at_most=MAX_TEST_MSE)],
    )
    group = ModelPackageGroup(stack, "Registry", description="The sample's house prices model")
    registered = trained.register_model(
        group,
        container=container,
        approval=ModelApproval.APPROVED,  # the evaluation's gate is the approval
        inference_instance_types=[endpoint_instance_type],
        content_types=["text/csv"],
        response_types=["text/csv"],
        description="Trained on the prepared data, evaluated on the held-out test set",
        evaluation=evaluation,
    )
    registered.grant_read_model_artifacts(model_role)
    CfnOutput(stack, "ModelPackageArn", value=registered.model_package_arn)
    CfnOutput(stack, "TestMse", value=evaluation.metric("mse"))
    CfnOutput(stack, "EvaluationReport", value=evaluation.report_uri)
    return sagemaker.CfnModel.ContainerDefinitionProperty(
        model_package_name=registered.model_package_arn
    )


def _score(
    stack: Stack,
    model: sagemaker.CfnModel,
    model_role: iam.IRole,
    prepared: ProcessingJob,
    platform: Platform,
) -> TransformJob:
    """The pipeline's last step: the registered model scores the held-out test set in a
    batch transform, each prediction beside its label (the label is kept from the
    model by the input filter, and joined back after)."""
    scored = TransformJob(
        stack,
        "Score",
        model=model,
        model_role=model_role,
        input=TransformInput.from_processing_output(
            prepared, "test", content_type="text/csv", split_type=SplitType.LINE
        ),
        output=TransformOutput.to_bucket(
            platform.bucket,
            "predictions/",
            accept="text/csv",
            assemble_with=AssembleWith.LINE,
            encryption_key=platform.key,
        ),
        instance_type=InstanceType.of("ml.m5.xlarge"),
        batch_strategy=BatchStrategy.MULTI_RECORD,
        data_processing=DataProcessing(
            input_filter="$[1:]", join_source=JoinSource.INPUT, output_filter="$[0,-1]"
        ),
        volume_encryption_key=platform.key,
        tags={"project": "constructs-lib-sample"},
    )
    CfnOutput(stack, "PredictionsUri", value=scored.output_uri)
    return scored


def _what_trains(*, script: bool) -> tuple[TrainingImage, TrainingCode | None, dict[str, Any]]:
    """The image, code and hyperparameters of the sample's job: the built-in XGBoost,
    or (``script``) the app's own code on SageMaker's scikit-learn container, whose
    script receives the hyperparameters typed (ints and floats)."""
    if script:
        return (
            TrainingImage.from_framework("sklearn", "1.2-1"),
            TrainingCode.from_directory(str(CODE), entry_point="train.py"),
            {"n-estimators": 200, "learning-rate": 0.1, "max-depth": 3},
        )
    return (
        TrainingImage.from_algorithm("xgboost", "1.7-1"),
        None,
        {"objective": "reg:squarederror", "num_round": "50", "max_depth": "3", "eta": "0.3"},
    )


def _acknowledge(
    scope: Construct, rule: str, reason: str, *, aws_solutions: str | None = None
) -> None:
    """Acknowledge ``rule`` of the NIST 800-53 rev 5 and HIPAA Security packs (and the
    AwsSolutions rule that says the same) on ``scope``, for a reviewer's ``reason``."""
    ids = [f"NIST.800.53.R5-{rule}", f"HIPAA.Security-{rule}"]
    if aws_solutions:
        ids.append(f"AwsSolutions-{aws_solutions}")
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))


def _acknowledge_guardrails(
    scope: Construct,
    reason: str,
    *,
    checkov: list[str] | None = None,
    control_tower: list[str] | None = None,
) -> None:
    """Acknowledge checkov checks (in the resource's ``Metadata.checkov.skip``, where
    checkov reads them) and Control Tower rules of the cfn-guard plugin on ``scope``."""
    if control_tower:
        Validations.of(scope).acknowledge(
            *(
                Acknowledgment(id=f"cdk-validator-cfnguard::{r}", reason=reason)
                for r in control_tower
            )
        )
    if checkov:
        resource = scope.node.default_child
        assert isinstance(resource, CfnResource)
        skips = (resource.get_metadata("checkov") or {}).get("skip", [])
        skips = [*skips, *({"id": check, "comment": reason} for check in checkov)]
        resource.add_metadata("checkov", {"skip": skips})


def _acknowledge_vpc_helpers(stack: Stack) -> None:
    """aws-cdk-lib's function that closes the VPC's default security group
    (``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup``): it runs once per deploy."""
    provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
    if provider is None:
        return
    handler = provider.node.find_child("Handler")
    assert isinstance(handler, CfnResource)
    reason = (
        "aws-cdk-lib's function that closes the VPC's default security group: it runs "
        "once per deploy, calls only the EC2 API, and reports its errors to "
        "CloudFormation (no dead-letter queue, concurrency or VPC needed)."
    )
    skips = [{"id": c, "comment": reason} for c in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117")]
    handler.add_metadata("checkov", {"skip": skips})
    Validations.of(provider).acknowledge(
        Acknowledgment(id="cdk-validator-cfnguard::lambda_inside_vpc_check", reason=reason)
    )


def build_app(app: App | None = None) -> App:
    """The sample app, configured from ``cdk.json`` context."""
    app = app or App()
    # Server access logs delivered through a bucket policy, not the legacy ACL.
    app.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
    context = app.node.try_get_context
    env = Environment(region=context("sample:region") or "us-east-1")
    platform = None
    if str(context("sample:composition")).lower() == "true":
        # The training stack consumes a VPC, a key and a bucket of another stack.
        platform = DataPlatformStack(app, "SharedData", env=env).platform
    TrainAndServeStack(
        app,
        "TrainAndServe",
        env=env,
        instance_type=context("sample:instanceType") or "ml.m5.xlarge",
        endpoint_instance_type=context("sample:endpointInstanceType") or "ml.m5.large",
        platform=platform,
        long_job=_completion(context("sample:completion")) == "wait_condition",
        guardrails=str(context("sample:guardrails")).lower() == "true",
        tuning=str(context("sample:tuning")).lower() == "true",
        script=_training(context("sample:training")) == "script",
        queue=str(context("sample:queue")).lower() == "true",
        promote=str(context("sample:promote")).lower() == "true",
        pipeline=str(context("sample:pipeline")).lower() == "true",
    )
    return app


COMPLETIONS = ("wait", "wait_condition")
TRAININGS = ("algorithm", "script")


def _choice(key: str, value: object, choices: tuple[str, ...], example: str) -> str:
    """The context value ``key``: one of ``choices`` (the first is the default)."""
    chosen = choices[0] if value is None else str(value)
    if chosen not in choices:
        raise ValueError(
            f"[sample app] context {key}: {chosen!r} is invalid: use one of "
            f"{', '.join(choices)} ({example})"
        )
    return chosen


def _training(value: object) -> str:
    """The ``sample:training`` context value: ``algorithm`` (default) or ``script``."""
    return _choice(
        "sample:training", value, TRAININGS, "-c sample:training=script for your own code"
    )


def _completion(value: object) -> str:
    """The ``sample:completion`` context value: ``wait`` (default) or ``wait_condition``."""
    return _choice(
        "sample:completion",
        value,
        COMPLETIONS,
        "-c sample:completion=wait_condition for a long job",
    )
