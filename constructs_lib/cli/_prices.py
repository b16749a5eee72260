"""SageMaker's on-demand prices per instance-hour from the AWS Price List API
(``pricing:GetProducts``): the products of service ``AmazonSageMaker`` in the region
(``regionCode``) for the instance type (``instanceName``), told apart by their usage
type, ``<region prefix>-Train:ml.m5.xlarge``, ``-Processing:``, ``-Tsform:`` (batch
transform). A spot training job is priced at the on-demand rate: the worst case."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

SERVICE_CODE = "AmazonSageMaker"
#: The Price List API answers in these regions only; us-east-1 lists every region.
PRICING_REGION = "us-east-1"
#: The usage type's kind of each usage the quotas name.
USAGE_KINDS = {
    "training job": "Train",
    "spot training job": "Train",
    "processing job": "Processing",
    "transform job": "Tsform",
}


def _usage_kind_and_type(usage_type: str) -> tuple[str, str]:
    """``USE1-Train:ml.m5.xlarge`` -> (``Train``, ``ml.m5.xlarge``)."""
    kind, _, instance_type = usage_type.partition(":")
    return kind.rsplit("-", 1)[-1], instance_type


def _hourly(product: dict[str, Any]) -> float | None:
    """The product's on-demand price in USD per hour."""
    for term in (product.get("terms") or {}).get("OnDemand", {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            unit = str(dimension.get("unit", "")).lower()
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if unit in ("hrs", "hours", "hour") and usd is not None:
                return float(usd)
    return None


def on_demand_prices(
    client: Any, region: str, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], float]:
    """The on-demand USD per instance-hour of each ``(instance type, usage)`` of
    ``wanted`` in ``region`` that the Price List lists (one that it does not is missing
    from the answer)."""
    kinds: dict[str, set[str]] = {}
    for instance_type, usage in wanted:
        kinds.setdefault(instance_type, set()).add(usage)
    prices: dict[tuple[str, str], float] = {}
    for instance_type, usages in sorted(kinds.items()):
        found: dict[str, float] = {}
        pages = client.get_paginator("get_products").paginate(
            ServiceCode=SERVICE_CODE,
            FormatVersion="aws_v1",
            Filters=[
                {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
            ],
        )
        for page in pages:
            for item in page.get("PriceList", []):
                product = json.loads(item) if isinstance(item, str) else item
                usage_type = str(
                    product.get("product", {}).get("attributes", {}).get("usagetype", "")
                )
                kind, listed_type = _usage_kind_and_type(usage_type)
                hourly = _hourly(product)
                if listed_type != instance_type or hourly is None:
                    continue
                found.setdefault(kind, hourly)
        for usage in usages:
            price = found.get(USAGE_KINDS.get(usage, ""))
            if price is not None:
                prices[instance_type, usage] = price
    return prices
