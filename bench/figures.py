"""Write the benchmarks' matplotlib figures the same way: laid out, PNG at 100 dpi, closed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def save_figure(fig: Figure, path: Path) -> str:
    """Lay `fig` out, write it to `path` as a PNG and close it; return the file's name."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name
