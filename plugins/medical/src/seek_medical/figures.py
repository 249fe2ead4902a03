"""Axial overlays: found and missed nodules with their boxes, and a finding's mask on its slice."""

from __future__ import annotations

from typing import Any

import numpy as np

from seek_medical.volume import Volume

WINDOW = (-1350.0, 150.0)  # lung window: centre -600, width 1500


def overlay_grid(panels: list[dict[str, Any]], title: str, columns: int = 4) -> Any:
    """A grid of axial crops; each panel: iso volume, centre (k, j, i), reference box, detection box, caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    count = max(1, len(panels))
    rows = (count + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 3.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels, strict=False):
        volume: Volume = panel["volume"]
        k, j, i = (round(v) for v in panel["centre"])
        k = min(max(k, 0), volume.shape[0] - 1)
        half = int(panel.get("half", 24))
        image = volume.hu[k, max(0, j - half) : j + half, max(0, i - half) : i + half]
        oy, ox = max(0, j - half), max(0, i - half)
        ax.imshow(image, cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1])
        for key, colour in (("reference", panel.get("reference_colour", "lime")), ("detection", "yellow")):
            box = panel.get(key)
            if box is None:
                continue
            cj, ci, size = box
            ax.add_patch(
                Rectangle((ci - size / 2 - ox, cj - size / 2 - oy), size, size, fill=False, color=colour, lw=1.2)
            )
        mask = panel.get("mask")
        if mask is not None and mask[k].any():
            ax.contour(mask[k, oy : j + half, ox : i + half], levels=[0.5], colors="cyan", linewidths=0.8)
        ax.set_title(panel.get("caption", ""), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def nodule_panels(
    iso: Volume, nodules: list[dict[str, Any]], spacing_mm: float, found: bool, limit: int = 12
) -> list[dict[str, Any]]:
    """Panels for reference nodules (found ones with their best detection's box), smallest first."""
    panels = []
    for nodule in sorted(nodules, key=lambda n: n["diameter"])[:limit]:
        ijk = iso.world_to_index(nodule["centre"])
        size = max(nodule["diameter"] / spacing_mm, 3.0) + 2
        panel = {
            "volume": iso,
            "centre": (ijk[2], ijk[1], ijk[0]),
            "reference": (ijk[1], ijk[0], size),
            "reference_colour": "lime" if found else "red",
            "caption": f"{nodule['diameter']:.1f} mm {nodule.get('kind', '')}"
            + (f" p={nodule['probability']:.2f}" if found else " missed"),
        }
        detection = nodule.get("detection_centre")
        if found and detection is not None:
            d_ijk = iso.world_to_index(detection)
            panel["detection"] = (d_ijk[1], d_ijk[0], max(nodule.get("detection_diameter", 4) / spacing_mm, 3.0) + 2)
        panels.append(panel)
    return panels


def finding_panels(
    iso: Volume, findings: list[Any], masks: list[np.ndarray], boxes: list[Any], spacing_mm: float, limit: int = 12
) -> list[dict[str, Any]]:
    """Panels for findings of ``seek medical detect``: the slice through each centre with its CRF mask."""
    panels = []
    for finding, mask, box in list(zip(findings, masks, boxes, strict=True))[:limit]:
        ijk = iso.world_to_index(finding.centre_mm)
        full = np.zeros(iso.shape, dtype=bool)
        full[box] = mask
        size = max(finding.diameter_mm / spacing_mm, 3.0) + 2
        panels.append(
            {
                "volume": iso,
                "centre": (ijk[2], ijk[1], ijk[0]),
                "detection": (ijk[1], ijk[0], size),
                "mask": full,
                "caption": f"{finding.diameter_mm:.1f} mm p={finding.probability:.2f}",
            }
        )
    return panels
