"""The charts of the Jahresbericht, drawn with matplotlib (Agg, no display) to PNG and SVG."""

from __future__ import annotations

from pathlib import Path

from akn_mail.report.data import YearReport


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, also on a server
    import matplotlib.pyplot as pyplot

    return pyplot


def draw(report: YearReport, stem: Path) -> list[Path]:
    """Draw the charts next to STEM ("bericht" -> bericht-beitraege.png/.svg, bericht-aufgaben.png/.svg)."""
    pyplot = _pyplot()
    from matplotlib.ticker import MaxNLocator

    written: list[Path] = []
    if report.posts:
        names = list(report.posts)
        figure, axes = pyplot.subplots(figsize=(7, 0.4 * len(names) + 1.2))
        axes.barh(names[::-1], [report.posts[name] for name in names][::-1], color="#2e7d32")
        axes.set_xlabel("Beiträge an die Liste")
        axes.set_title(f"Beiträge je Mitglied {report.year}")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for index, value in enumerate([report.posts[name] for name in names][::-1]):
            axes.text(value, index, f" {value}", va="center")
        figure.tight_layout()
        written += _save(pyplot, figure, stem, "beitraege")
    if report.tasks:
        names = list(report.tasks)
        done = [report.tasks[name][0] for name in names][::-1]
        still = [report.tasks[name][1] for name in names][::-1]
        figure, axes = pyplot.subplots(figsize=(7, 0.4 * len(names) + 1.8))
        axes.barh(names[::-1], done, color="#2e7d32", label="erledigt")
        axes.barh(names[::-1], still, left=done, color="#f9a825", label="offen")
        axes.set_xlabel("Aufgaben")
        axes.set_title(f"Aufgaben je Mitglied {report.year}")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, frameon=False)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        figure.tight_layout()
        written += _save(pyplot, figure, stem, "aufgaben")
    return written


def _save(pyplot, figure, stem: Path, name: str) -> list[Path]:
    paths = [stem.with_name(f"{stem.name}-{name}.png"), stem.with_name(f"{stem.name}-{name}.svg")]
    for path in paths:
        figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return paths
