"""Entry point of ``cdk.json``: ``python -m sample_app``."""

from .app import build_app

build_app().synth()
