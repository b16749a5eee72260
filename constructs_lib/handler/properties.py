"""Names of the custom resource's properties, shared by the construct and the handler.

Imports nothing, so the construct library can use it without botocore.
"""

RESOURCE_TYPE = "Custom::SageMakerTrainingJob"
#: The CreateTrainingJob request, in the API's own shape and casing.
REQUEST = "TrainingJobRequest"
#: Prefix of generated job names (``<prefix>-<hash>``).
NAME_PREFIX = "JobNamePrefix"
#: ``retain`` or ``destroy``: what Delete does to the job record once it stopped.
REMOVAL_POLICY = "RemovalPolicy"
#: Seconds the deployment waits for the job, counted from its creation; past it the
#: handler fails the deployment with a clear message (before CloudFormation's own
#: ServiceTimeout), and the rollback stops the job.
WAIT_TIMEOUT = "WaitTimeoutSeconds"
#: Tag put on every job, holding the CloudFormation request id that created it: a
#: retried Create recognises its own job by it.
OWNER_TAG = "constructs-lib:cfn-request-id"
#: ``wait`` (default): the resource completes when the job completed; ``created``:
#: as soon as the job exists (a wait condition or nothing waits for the rest).
COMPLETION = "CompletionMode"
#: Seconds between DescribeTrainingJob calls while waiting (a multiple of the
#: provider's query interval; the polls in between are skipped).
POLL_INTERVAL = "PollIntervalSeconds"
#: The provider framework's query interval (seconds), shared by construct and handler.
QUERY_INTERVAL_SECONDS = 30

#: Reads a completed job's attributes once, after its wait condition.
RESULT_RESOURCE_TYPE = "Custom::SageMakerTrainingJobResult"
#: Signals the wait condition if the job ended before its state-change rule existed.
SIGNAL_RESOURCE_TYPE = "Custom::SageMakerTrainingJobSignal"
#: The job a result or signal resource is about.
JOB_NAME = "TrainingJobName"
#: The presigned URL of the job's CfnWaitConditionHandle.
HANDLE_URL = "WaitConditionHandle"
