"""The job core every job kind shares: the custom resource and the role around a
rendered request (:mod:`._job`), the options every kind takes (:mod:`._options`), how
long and how the deployment waits (:mod:`._timing`, :mod:`._completion`,
:mod:`._wait_condition`), the execution role's grants for what a definition names
(:mod:`._grants`), tags (:mod:`._tagging`), quality gates (:mod:`._quality_gate`),
how a request's problems are reported (:mod:`._problems`) and the size of what
CloudFormation hands the provider (:mod:`._event_size`).

A job kind renders its own request and hands it to :class:`._job.JobCore`, which
makes the role, binds a training definition (``bind_definition``) or the network of
another kind (``bind_network``), grants and registers (``grant_and_register``, or
``register`` with the kind's own grants: a processing job's) and creates the gated
resource (``create_resource``); it reuses the rest as it is.

May import: _shared, security, provider, definition, handler (the job kinds and the
properties' names, which the handler and the constructs share). Imported by: serving,
queueing, training, processing, tuning, and the root, which re-exports the names
below.
"""

from __future__ import annotations

from ._completion import Completion, CompletionMode
from ._quality_gate import MetricThreshold

__all__ = [
    "Completion",
    "CompletionMode",
    "MetricThreshold",
]
