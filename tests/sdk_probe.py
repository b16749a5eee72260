"""Runs in the SDK's venv (tests/toolkit.py): reads cases (JSON on stdin), answers
with what the SageMaker SDK's ``image_uris.retrieve`` returns for each (a URI or the
error), JSON on stdout."""

import functools
import json
import logging
import sys

from sagemaker.core import common_utils, image_uris

logging.disable(logging.CRITICAL)
# The SDK loads botocore's endpoint data at every call; once is enough (same answer).
common_utils._botocore_resolver = functools.cache(common_utils._botocore_resolver)

answers = []
for case in json.load(sys.stdin):
    try:
        uri = image_uris.retrieve(
            case["framework"],
            case["region"],
            version=case["version"],
            py_version=case.get("py_version"),
            instance_type=case.get("instance_type"),
            image_scope=case["scope"],
            base_framework_version=case.get("base_framework_version"),
        )
        answers.append({"uri": uri})
    except Exception as error:
        answers.append({"error": f"{type(error).__name__}: {error}"})
json.dump(answers, sys.stdout)
