"""The sample's preparation (``-c sample:pipeline=true``): run by SageMaker's
scikit-learn container as a processing job, as the SDK's
``SKLearnProcessor.run(code="prepare.py")`` would run it.

Reads every CSV of its inputs (label first, no header), shuffles the rows with a
fixed seed and splits them 70/15/15 into the outputs ``train``, ``validation`` and
``test``, one ``<output>.csv`` each, where the training job and the evaluation read
them. ``--seed`` and ``--test-fraction`` come from the job's arguments.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

INPUTS = Path("/opt/ml/processing/input")
OUTPUTS = Path("/opt/ml/processing/output")


def prepare(arguments: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    args = parser.parse_args(arguments)

    rows = [
        line
        for source in sorted(INPUTS.glob("*/*.csv"))
        for line in source.read_text().splitlines()
        if line.strip()
    ]
    if not rows:
        raise SystemExit(f"no CSV rows under {INPUTS}: check the job's inputs")
    random.Random(args.seed).shuffle(rows)
    held_out = max(1, int(len(rows) * args.test_fraction))
    splits = {
        "test": rows[:held_out],
        "validation": rows[held_out : 2 * held_out],
        "train": rows[2 * held_out :],
    }
    for name, part in splits.items():
        folder = OUTPUTS / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.csv").write_text("\n".join(part) + "\n")
    counts = {name: len(part) for name, part in splits.items()}
    print(f"prepared {counts}")
    return counts


if __name__ == "__main__":
    prepare()
