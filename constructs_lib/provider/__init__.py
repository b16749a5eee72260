"""The custom resource provider shared by every job of a stack.

:mod:`._provider` the construct (found or created per stack); :mod:`.functions` its
Lambda functions and log groups; :mod:`.permissions` what it may do to training and
tuning jobs; :mod:`.execution` what every execution role shares; :mod:`.network`
where the functions run; :mod:`.compliance` why its findings are acknowledged; the
handler's own waiter is ``handler/waiter.py``.

May import: _shared, security, handler (the kinds, the properties' names, and the
handler's files as its Lambda asset). Imported by: core, queueing, schedule,
training, tuning, and the root (``TrainingJobProvider``).
"""

from ._provider import MAX_SERVICE_TIMEOUT, TrainingJobProvider
from .execution import METRICS_NAMESPACE, TRAINING_LOG_GROUP
from .network import ENDPOINT_SERVICES, ENDPOINTS_WARNING_ID
from .options import ProviderOptions
from .permissions import PASS_ROLE_CHUNK, TRAINING_JOB_ACTIONS, TUNING_JOB_ACTIONS

__all__ = [
    "ENDPOINTS_WARNING_ID",
    "ENDPOINT_SERVICES",
    "MAX_SERVICE_TIMEOUT",
    "METRICS_NAMESPACE",
    "PASS_ROLE_CHUNK",
    "TRAINING_JOB_ACTIONS",
    "TRAINING_LOG_GROUP",
    "TUNING_JOB_ACTIONS",
    "ProviderOptions",
    "TrainingJobProvider",
]
