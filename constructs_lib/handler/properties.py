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
