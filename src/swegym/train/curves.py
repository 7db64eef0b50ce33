"""Loss curves of a training run: ``loss.json`` and ``loss.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_curves(history: list[dict[str, Any]], out: Path) -> list[Path]:
    """Write the logged ``loss`` per step as JSON and, when matplotlib is there, as a PNG."""
    points: list[dict[str, Any]] = [
        {"step": int(h.get("step", i + 1)), "loss": float(h["loss"]), "epoch": h.get("epoch")}
        for i, h in enumerate(history)
    ]
    written = [out / "loss.json"]
    written[0].write_text(json.dumps(points, indent=2))
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return written
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if points:
        steps: list[int] = [p["step"] for p in points]
        losses: list[float] = [p["loss"] for p in points]
        ax.plot(steps, losses, marker="o", ms=3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title(f"training loss ({out.name})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=110)
    written.append(out / "loss.png")
    return written
