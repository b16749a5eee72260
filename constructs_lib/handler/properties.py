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
