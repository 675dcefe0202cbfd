"""PNG plots of a soak (matplotlib, headless Agg backend): duration per cycle per phase, with
injected cycles shaded, and P50/P90/P95/max bars per phase."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib
    matplotlib.use("Agg")          # no display on CI runners or in containers
    import matplotlib.pyplot as plt
    return plt


def plot_durations(analysis: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for phase, points in analysis.get("phase_series", {}).items():
        if points:
            xs, ys = zip(*points, strict=False)
            ax.plot(xs, ys, marker="o", markersize=3, label=phase)
    for c in analysis.get("per_cycle", []):
        if c.get("injected"):
            ax.axvspan(c["cycle"] - 0.5, c["cycle"] + 0.5, color="red", alpha=0.12)
        if c["status"] != "passed":
            ax.axvline(c["cycle"], color="red", linestyle=":", linewidth=1)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))     # cycles are whole numbers
    ax.set_xlabel("cycle (shaded: fault injected, dotted: cycle failed)")
    ax.set_ylabel("phase duration (s)")
    ax.set_title(f"soak {analysis.get('soak_id', '')}: duration per cycle per phase")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_percentiles(analysis: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    phases = analysis.get("phases", {})
    names = [n for n, s in phases.items() if s.get("count")]
    keys = ("p50", "p90", "p95", "max")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(keys)
    for i, k in enumerate(keys):
        ax.bar([j + i * width for j in range(len(names))], [phases[n][k] for n in names], width, label=k.upper())
    ax.set_xticks([j + width * (len(keys) - 1) / 2 for j in range(len(names))])
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("seconds")
    ax.set_title("phase duration percentiles")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def make_plots(analysis: dict[str, Any], directory: Path) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [plot_durations(analysis, directory / "durations.png"),
            plot_percentiles(analysis, directory / "percentiles.png")]
