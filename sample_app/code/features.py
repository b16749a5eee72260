"""Reading the sample's CSVs: a module of the code's own directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load(channel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of every CSV in a channel's directory (label first)."""
    frames = [np.loadtxt(path, delimiter=",", ndmin=2) for path in sorted(channel.glob("*.csv"))]
    data = np.vstack(frames)
    return data[:, 1:], data[:, 0]
