"""The account's SageMaker quotas from Service Quotas (the applied value where one was
set, else AWS's default), matched by the quota's name, and what an app's needs lack
of them: a line per shortfall naming the quota, what the app needs at once, the
account's value, and the request that raises it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._needs import AtOnce

SERVICE_CODE = "sagemaker"


@dataclass(frozen=True)
class Quota:
    """A SageMaker quota of the account."""

    name: str
    code: str
    value: float
    adjustable: bool = True


def account_quotas(client: Any) -> dict[str, Quota]:
    """SageMaker's quotas of the account by name: AWS's defaults
    (``ListAWSDefaultServiceQuotas``), the applied values over them
    (``ListServiceQuotas``)."""
    quotas: dict[str, Quota] = {}
    for operation in ("list_aws_default_service_quotas", "list_service_quotas"):
        for page in client.get_paginator(operation).paginate(ServiceCode=SERVICE_CODE):
            for item in page.get("Quotas", []):
                quota = Quota(
                    str(item["QuotaName"]),
                    str(item["QuotaCode"]),
                    float(item.get("Value", 0.0)),
                    bool(item.get("Adjustable", True)),
                )
                quotas[quota.name] = quota
    return quotas


@dataclass(frozen=True)
class Shortfall:
    """A quota below what the app needs at once."""

    needed: AtOnce
    quota: Quota | None

    def line(self, stack: str) -> str:
        needed = self.needed
        jobs = ", ".join(needed.logical_ids)
        if self.quota is None:
            return (
                f"{stack}: '{needed.quota_name}': the app needs {needed.instances} at once "
                f"({jobs}), and Service Quotas lists no such SageMaker quota in this region: "
                "the instance type may not be offered here for that usage."
            )
        quota = self.quota
        request = (
            f"aws service-quotas request-service-quota-increase --service-code "
            f"{SERVICE_CODE} --quota-code {quota.code} --desired-value {needed.instances}"
        )
        how = request if quota.adjustable else "(not adjustable: use another instance type)"
        return (
            f"{stack}: '{needed.quota_name}' ({quota.code}): the app needs "
            f"{needed.instances} at once ({jobs}), the account has {quota.value:g}. {how}"
        )


def shortfalls(needs: Iterable[AtOnce], quotas: Mapping[str, Quota]) -> list[Shortfall]:
    """Each need the account's quotas do not hold."""
    found: list[Shortfall] = []
    for needed in needs:
        quota = quotas.get(needed.quota_name)
        if quota is None or quota.value < needed.instances:
            found.append(Shortfall(needed, quota))
    return found
