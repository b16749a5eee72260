"""The service models the handler's clients and its coercion use: SageMaker's, as the
library validated the requests at synth (``models/sagemaker/<api version>/
service-2.json.gz``, the operations of ``kinds.SAGEMAKER_OPERATIONS`` only), ahead of
the Lambda runtime's botocore, which AWS updates on its own schedule and which may
not know the newer members. EC2 and CloudFormation calls (network interfaces,
DescribeStacks) use the runtime's models: those members have not changed in years.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.session

#: A botocore data path: ``<service>/<api version>/service-2.json.gz``.
DATA_PATH = Path(__file__).resolve().with_name("models")


def session() -> boto3.Session:
    """A boto3 session whose loader reads the shipped models first."""
    core = botocore.session.get_session()
    loader = core.get_component("data_loader")
    loader.search_paths.insert(0, str(DATA_PATH))
    return boto3.Session(botocore_session=core)
