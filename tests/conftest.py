"""Shared test set-up."""

import os

# jsii prints an end-of-life banner on Node 20; the value is the Node major version.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
