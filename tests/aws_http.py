"""An HTTP endpoint for the AWS APIs moto does not answer and ``constructs-lib
preflight`` calls: Service Quotas' SageMaker quotas, Lambda's account settings and the
Price List's GetProducts. A process under test reaches it through boto3's
per-service endpoint variables (``AWS_ENDPOINT_URL_SERVICE_QUOTAS``, ...), so botocore
serializes each request and parses each answer over the wire. Each request is
validated against botocore's model, each answer too, before it is sent."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes import service_model, validate

#: The JSON protocol's target prefix of each service.
_TARGETS = {
    "ServiceQuotasV20190624": "service-quotas",
    "AWSPriceListService": "pricing",
}


def price_list_product(usage_type: str, usd: str) -> dict[str, Any]:
    """A Price List product of SageMaker with an on-demand hourly price, as GetProducts
    lists it (each as a JSON string)."""
    sku = f"SKU{zlib.crc32(usage_type.encode()):010d}"
    return {
        "product": {
            "productFamily": "ML Instance",
            "attributes": {"usagetype": usage_type, "servicecode": "AmazonSageMaker"},
            "sku": sku,
        },
        "serviceCode": "AmazonSageMaker",
        "terms": {
            "OnDemand": {
                f"{sku}.JRTCKXETXF": {
                    "priceDimensions": {
                        f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                            "unit": "Hrs",
                            "pricePerUnit": {"USD": usd},
                            "description": f"{usage_type} per hour",
                        }
                    },
                    "effectiveDate": "2026-11-01T00:00:00Z",
                }
            }
        },
    }


class AccountAnswers:
    """What the endpoint answers: SageMaker's quotas (AWS's defaults and the applied
    values), Lambda's account limits, and Price List products per (region, instance
    type)."""

    def __init__(
        self,
        *,
        default_quotas: dict[str, tuple[str, float]],
        applied_quotas: dict[str, tuple[str, float]] | None = None,
        unreserved: int = 1000,
        products: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.default_quotas = default_quotas
        self.applied_quotas = applied_quotas or {}
        self.unreserved = unreserved
        self.products = products or {}
        #: ``service.Operation`` of each request received.
        self.calls: list[str] = []

    @staticmethod
    def _quotas(quotas: dict[str, tuple[str, float]]) -> dict[str, Any]:
        return {
            "Quotas": [
                {"ServiceCode": "sagemaker", "QuotaName": name, "QuotaCode": code, "Value": value}
                for name, (code, value) in quotas.items()
            ]
        }

    def answer(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"{service}.{operation}")
        if operation == "ListAWSDefaultServiceQuotas":
            return self._quotas(self.default_quotas)
        if operation == "ListServiceQuotas":
            return self._quotas(self.applied_quotas)
        if operation == "GetAccountSettings":
            return {
                "AccountLimit": {
                    "ConcurrentExecutions": 1000,
                    "UnreservedConcurrentExecutions": self.unreserved,
                }
            }
        if operation == "GetProducts":
            filters = {f["Field"]: f["Value"] for f in params.get("Filters", [])}
            listed = self.products.get(
                (filters.get("regionCode", ""), filters.get("instanceName", "")), []
            )
            return {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in listed]}
        raise AssertionError(f"unexpected {service}.{operation}")


def _handler(answers: AccountAnswers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: dict[str, Any], content_type: str) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _respond(self, service: str, operation: str, params: dict[str, Any]) -> None:
            model = service_model(service).operation_model(operation)
            try:
                validate(model, params)
                body = answers.answer(service, operation, params)
                validate(model, body, output=True)
            except AssertionError as error:
                answers.calls.append(f"refused: {error}")
                self._send(
                    400,
                    {"__type": "ValidationException", "message": str(error)},
                    "application/json",
                )
                return
            self._send(200, body, "application/x-amz-json-1.1")

        def do_POST(self) -> None:  # the JSON protocol: Service Quotas, the Price List
            target = self.headers.get("X-Amz-Target", "")
            prefix, _, operation = target.partition(".")
            length = int(self.headers.get("Content-Length", "0"))
            params = json.loads(self.rfile.read(length) or b"{}")
            self._respond(_TARGETS.get(prefix, prefix), operation, params)

        def do_GET(self) -> None:  # Lambda's REST API
            if self.path.rstrip("/").endswith("/account-settings"):
                self._respond("lambda", "GetAccountSettings", {})
                return
            self._send(404, {"message": f"no route {self.path}"}, "application/json")

    return Handler


@contextmanager
def account_endpoint(answers: AccountAnswers) -> Iterator[dict[str, str]]:
    """Serve ``answers`` on a local port; yield the environment that points boto3's
    Service Quotas, Lambda and Price List clients at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answers))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield {
            "AWS_ENDPOINT_URL_SERVICE_QUOTAS": url,
            "AWS_ENDPOINT_URL_LAMBDA": url,
            "AWS_ENDPOINT_URL_PRICING": url,
        }
    finally:
        server.shutdown()
        server.server_close()
