"""The on-demand prices ``make integ-deploy`` multiplies the integration tests'
instance-hours by: AWS's public list prices of SageMaker in us-east-1, per instance-hour
in USD, as of :data:`PRICES_DATE` (https://aws.amazon.com/sagemaker/pricing/; the Price
List API's usage type ``USE1-Train:ml.m5.large`` read $0.115 that day). SageMaker lists
an ml.m5 type at one rate for training, processing, batch transform and real-time
inference. Other regions and later dates differ: ``constructs-lib preflight --cost``
reads your region's current prices from the Price List API."""

from __future__ import annotations

PRICES_DATE = "2026-08-11"
PRICES_REGION = "us-east-1"

_M5 = {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23}
#: (instance type, usage) -> USD per instance-hour. Usage as the quotas name it, and
#: ``endpoint`` for real-time inference. A spot job is counted at the on-demand rate.
PRICES: dict[tuple[str, str], float] = {
    (instance_type, usage): price
    for instance_type, price in _M5.items()
    for usage in (
        "training job",
        "spot training job",
        "processing job",
        "transform job",
        "endpoint",
    )
}
