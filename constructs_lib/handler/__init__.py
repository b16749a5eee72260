"""Lambda code of the training job provider.

Shipped as the Lambda asset on its own (``handler/*.py``); it imports only the
standard library and the boto3/botocore that the Lambda Python runtime provides.
"""
