"""One synthesis, as `cdk synth` runs it: ``python -m benchmarks.synth_app JOBS [shared]``.

JOBS = -1 synthesizes the bare app (one bucket, no TrainingJob); ``shared`` gives
every job the same execution role.
"""

from __future__ import annotations

import sys
import tempfile

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3


def build(jobs: int, shared_role: bool = False) -> App:
    app = App(outdir=tempfile.mkdtemp(prefix="bench-"))
    stack = Stack(app, "Bench")
    bucket = s3.Bucket(stack, "Data")
    if jobs < 0:
        return app
    # Imported here: the bare app must not pay for importing the library.
    from constructs_lib import (
        TrainingImage,
        TrainingInput,
        TrainingJob,
        TrainingOutput,
    )

    role = (
        iam.Role(stack, "Shared", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
        if shared_role
        else None
    )
    image = TrainingImage.from_algorithm("kmeans")
    for index in range(max(jobs, 1)):
        TrainingJob(
            stack,
            f"Job{index}",
            image=image,
            inputs=[TrainingInput.from_bucket("train", bucket, f"data/{index}/")],
            output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
            hyperparameters={"k": "10", "feature_dim": "4"},
            role=role,
        )
    return app


if __name__ == "__main__":
    count = int(sys.argv[1])
    build(count, shared_role=len(sys.argv) > 2).synth()
