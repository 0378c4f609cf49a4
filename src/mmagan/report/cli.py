"""mmagan-report <sweep or run folders...>: report.md, report.csv, heatmaps and learning curves.

mmagan-report outputs/sweeps/mmagan_grid outputs/sweeps/baselines [--out reports/cifar10]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from mmagan.report.plots import heatmaps, learning_curves
from mmagan.report.tables import (
    build_rows,
    compare_with_baselines,
    comparison_markdown,
    markdown_table,
    metric_names,
    ranking_metrics,
    rows_markdown,
    write_csv,
)
from mmagan.runs.listing import RunRecord, find_runs, finished
from mmagan.runs.sweep_jobs import FINISHED


def unfinished_markdown(records: list[RunRecord]) -> str:
    lines = [
        [
            r.status,
            str(r.folder),
            r.error or ("never started" if r.status == "missing" else "no final figures"),
        ]
        for r in records
        if r.status != FINISHED
    ]
    return markdown_table(["status", "run folder", "why"], lines) if lines else "None: every run finished."


def write_report(paths: list[Path], out_dir: Path, rank_by: str | None = None) -> dict:
    """Write the report; return what it found (for the command's summary and for tests)."""
    records = find_runs(paths)
    if not records:
        raise FileNotFoundError(
            f"no run folders (with .hydra/config.yaml) under {', '.join(map(str, paths))}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    done = finished(records)
    metrics = metric_names(done)
    if rank_by is not None:
        if rank_by not in metrics:
            raise ValueError(f"--rank-by {rank_by!r} is not a metric of these runs: {', '.join(metrics)}")
        metrics = [rank_by] + [m for m in metrics if m != rank_by]
    rows = build_rows(done, metrics, rank_by)
    comparisons = compare_with_baselines(rows, metrics)
    write_csv(rows, metrics, out_dir / "report.csv")
    ranked_by = [rank_by] if rank_by else ranking_metrics(metrics)
    figures = heatmaps(rows, metrics, out_dir)
    if ranked_by:
        figures += learning_curves(rows, ranked_by[0], out_dir)
    counts = Counter(r.status for r in records)
    md = [
        "# Report",
        "",
        "Sources: " + ", ".join(f"`{p}`" for p in paths),
        "",
        f"{len(records)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".",
        "Each row is one configuration: mean ± standard deviation over its finished seeds.",
        f"Ranked within each data set by {', then '.join(ranked_by) or 'label'}.",
    ]
    for data in sorted({r.data for r in rows}):
        md += ["", f"## {data}", "", rows_markdown([r for r in rows if r.data == data], metrics)]
        for c in (c for c in comparisons if c.data == data):
            md += ["", f"### Best MMA-GAN against {c.baseline.method}", "", comparison_markdown(c)]
            md += ["", "Difference = MMA-GAN minus baseline; the interval is over seeds."]
    md += ["", "## Runs that did not finish", "", unfinished_markdown(records)]
    if figures:
        md += ["", "## Figures", ""] + [f"![{f.stem}]({f.name})" for f in figures]
    (out_dir / "report.md").write_text("\n".join(md) + "\n")
    return {"records": records, "rows": rows, "comparisons": comparisons, "figures": figures}


def main(argv: list[str] | None = None) -> None:
    """mmagan-report: tables, plots and the results page of one or more sweeps."""
    p = argparse.ArgumentParser(
        prog="mmagan-report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("folders", nargs="+", type=Path, help="sweep folders, run folders, or folders above them")
    p.add_argument("--out", type=Path, default=None, help="where to write (default: the first folder)")
    p.add_argument(
        "--rank-by", default=None, help="metric that ranks configurations (default: FID, then modes)"
    )
    p.add_argument(
        "--results",
        action="store_true",
        help="the study report: FOLDERS is one folder of results_*/sensitivity_* sweeps; writes "
        "results.md and results/ (figures, runs.csv) into --out",
    )
    args = p.parse_args(argv)
    if args.results:
        from mmagan.report.results import write_results

        out = args.out or Path("docs")
        command = "mmagan-report --results " + " ".join(map(str, args.folders)) + f" --out {out}"
        try:
            print(f"written: {write_results(args.folders[0], out, command)}")
        except FileNotFoundError as e:
            print(f"mmagan-report: {e}", file=sys.stderr)
            sys.exit(2)
        return
    out_dir = args.out or args.folders[0]
    try:
        found = write_report(args.folders, out_dir, args.rank_by)
    except (FileNotFoundError, ValueError) as e:
        print(f"mmagan-report: {e}", file=sys.stderr)
        sys.exit(2)
    counts = Counter(r.status for r in found["records"])
    print(f"{len(found['rows'])} configurations from {len(found['records'])} runs ({dict(counts)})")
    print(f"written: {out_dir / 'report.md'}, {out_dir / 'report.csv'}, {len(found['figures'])} figures")


if __name__ == "__main__":
    main()
