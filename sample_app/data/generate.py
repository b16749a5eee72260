"""Generate the sample's dataset: ``python -m sample_app.data.generate``.

A regression problem from a documented formula, so anyone can check what the
model should learn: ``y = 3*x1 - 2*x2 + 0.5*x3*x3 + noise``, with x1, x2, x3
uniform in [0, 10) and noise uniform in [-0.5, 0.5), from a fixed seed.
CSV without header, label first, as SageMaker's built-in XGBoost reads it.
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261123
ROWS = {"train.csv": 240, "validation.csv": 60}


def rows(count: int, rng: random.Random) -> list[str]:
    lines = []
    for _ in range(count):
        x1, x2, x3 = (rng.uniform(0, 10) for _ in range(3))
        y = 3 * x1 - 2 * x2 + 0.5 * x3 * x3 + rng.uniform(-0.5, 0.5)
        lines.append(f"{y:.3f},{x1:.3f},{x2:.3f},{x3:.3f}")
    return lines


def main() -> None:
    rng = random.Random(SEED)
    for name, count in ROWS.items():
        (HERE / name).write_text("\n".join(rows(count, rng)) + "\n")


if __name__ == "__main__":
    main()
