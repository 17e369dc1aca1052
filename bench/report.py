"""The report: a Markdown page with every figure and its ratio, and a PNG of the headlines."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .stats import ratio  # noqa: E402
from .systems import CELERY, CELERY_FRONT, JOBSTREAM, PYGEOAPI, RAW_FLOOR  # noqa: E402


def _verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    if math.isnan(value):
        return "n/a"
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "**missed**"


def headline_ratios(results: dict) -> list[tuple[str, float, str, str]]:
    """(what, ratio, target, verdict) for each target the issue sets."""
    out = []
    s1 = results.get("async_noop")
    if s1:
        by = {row["system"]: row["jobs_per_s"].median for row in s1["rows"]}
        js = by.get(JOBSTREAM, float("nan"))
        for peer, key, target in (
            ("pygeoapi", PYGEOAPI, 20),
            ("Celery + Redis behind FastAPI", CELERY_FRONT, 1),
            ("Celery + Redis", CELERY, 0.6),
            ("raw floor", RAW_FLOOR, 0.5),
        ):
            value = ratio(js, by[key]) if key in by else float("nan")
            out.append(
                (f"1. jobs/s, jobstream / {peer}", value, f"≥ {target}", _verdict(value, target))
            )
    s2 = results.get("history_scaling")
    if s2:
        mine = {row["jobs"]: row for row in s2["rows"] if row["system"] == "jobstream"}
        if len(mine) > 1:
            small, large = mine[min(mine)], mine[max(mine)]
            for key, label in (("list_ms", "GET /jobs?limit=10"), ("job_ms", "GET /jobs/{id}")):
                value = ratio(large[key].median, small[key].median)
                out.append(
                    (
                        f"2. {label}, {max(mine):,} / {min(mine):,} jobs",
                        value,
                        "≤ 2",
                        _verdict(value, 2, higher_is_better=False),
                    )
                )
    s3 = results.get("rebuild")
    if s3:
        base = s3["rows"][0]["events_per_s"].median
        for row in s3["rows"][1:]:
            value = ratio(row["events_per_s"].median, base)
            out.append((f"3. {row['reader']} / raw read", value, "≥ 0.5", _verdict(value, 0.5)))
    s5 = results.get("ingest")
    if s5:
        out.append(
            (
                "5. ingest periods/s, jobstream / bare loop",
                s5["ratio"],
                "≥ 0.8",
                _verdict(s5["ratio"], 0.8),
            )
        )
    s6 = results.get("memory")
    if s6 and len(s6["rows"]) > 1:
        first, last = s6["rows"][0], s6["rows"][-1]
        for name in ("gateway", "executor"):
            value = ratio(last[name] - first[name], first[name])
            out.append(
                (
                    f"6. {name} RSS growth {first['jobs']:,} → {last['jobs']:,} jobs",
                    value,
                    "< 0.10",
                    _verdict(value, 0.10, higher_is_better=False),
                )
            )
    return out


def write_markdown(path: Path, results: dict, meta: dict, plot: Path) -> None:
    lines = [
        f"# jobstream benchmarks — {meta['date']}",
        "",
        f"Mode: **{meta['mode']}**. Machine: {meta['machine']}. Commit `{meta['commit']}`. "
        "Every figure is min / median / max over the rounds; ratios use medians from this "
        "same run.",
        "",
        f"![headline figures]({plot.name})",
        "",
        "## Headline ratios against the targets",
        "",
        "| figure | ratio | target | |",
        "| --- | ---: | --- | --- |",
    ]
    lines += [
        f"| {what} | {value:.2f} | {target} | {verdict} |"
        for what, value, target, verdict in headline_ratios(results)
    ]
    if "async_noop" in results:
        s1 = results["async_noop"]
        lines += [
            "",
            f"## 1. Async no-op jobs end to end ({s1['jobs']} jobs, {s1['clients']} "
            f"clients, {s1['rounds']} rounds)",
            "",
            "Each client submits with `Prefer: respond-async` and polls until successful.",
            "",
            "| system | jobs/s (min / median / max) | submit p50 ms | submit p99 ms |",
            "| --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {r['system']} | {r['jobs_per_s'].fmt()} | {r['submit_p50_ms']:.1f} | "
            f"{r['submit_p99_ms']:.1f} |"
            for r in s1["rows"]
        ]
        lines += [f"- {note}" for note in s1["notes"]]
        for row in s1["rows"]:
            if row.get("cpu_ms"):
                total = sum(row["cpu_ms"].values())
                parts = ", ".join(
                    f"{name} {ms:.2f}"
                    for name, ms in sorted(row["cpu_ms"].items(), key=lambda item: -item[1])
                )
                lines += [
                    f"- {row['system']}, CPU per job in ms (each process's CPU times over "
                    f"all rounds): {parts}; {total:.2f} in all, so {s1['cores']} cores "
                    f"busy all the time would allow {s1['cores'] * 1000 / total:.0f} "
                    "jobs/s at most."
                ]
    if "history_scaling" in results:
        s2 = results["history_scaling"]
        lines += [
            "",
            f"## 2. Latency with history ({s2['requests']} requests each)",
            "",
            "| system | jobs in view | GET /jobs?limit=10 ms | GET /jobs/{id} ms |",
            "| --- | ---: | --- | --- |",
        ]
        lines += [
            f"| {r['system']} | {r['jobs']:,} | {r['list_ms'].fmt(2)} | {r['job_ms'].fmt(2)} |"
            for r in s2["rows"]
        ]
        lines += [f"- {note}" for note in s2["notes"]]
    if "rebuild" in results:
        s3 = results["rebuild"]
        lines += [
            "",
            f"## 3. Projector rebuild ({s3['events']:,} events)",
            "",
            "| reader | events/s |",
            "| --- | --- |",
        ]
        lines += [f"| {r['reader']} | {r['events_per_s'].fmt(0)} |" for r in s3["rows"]]
        lines += [f"- {note}" for note in s3["notes"]]
    if "concurrency" in results:
        s4 = results["concurrency"]
        lines += [
            "",
            f"## 4. Executor concurrency (jobs sleeping {s4['seconds'] * 1000:.0f} ms)",
            "",
            "| executors | concurrency each | jobs | jobs/s | ideal | of ideal |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['executors']} | {r['concurrency']} | {r['jobs']} | "
            f"{r['jobs_per_s']:.1f} | {r['ideal']:.0f} | {r['of_ideal']:.2f} |"
            for r in s4["rows"]
        ]
    if "ingest" in results:
        s5 = results["ingest"]
        ny, nx = s5["grid"]
        lines += [
            "",
            f"## 5. Ingest ({s5['periods']} daily periods, {s5['rounds']} rounds)",
            "",
            f"Synthetic plugin, latency 0, {ny} x {nx} cells of float32 "
            f"({s5['period_bytes']:,} bytes a period; MB/s counts these bytes, "
            f"MB = 10⁶ B); {s5['batch']} periods per Icechunk commit and "
            f"{s5['concurrency']} fetches in flight in both arms; every round writes a "
            "fresh repository. jobstream: one `ingest` job submitted over HTTP with "
            "`Prefer: respond-async`, timed from just before the POST to the `finished` "
            "time in the successful status `GET /jobs/{id}` answers (polled every "
            "0.25 s, so the poll neither loads the two cores nor sets the figure), after "
            "an untimed warm-up job. Bare loop: the same plugin class in a process of its "
            "own, `xr.concat` of a batch then `to_zarr(session.store, "
            'append_dim="time")` and `session.commit`, the next batch\'s fetches '
            "queued while one is written; timed from its first fetch to its last commit, "
            "after a warm-up ingest of its own. The arms alternate round by round; "
            "during a bare round the idle stack used "
            f"{s5['idle_cpu_s']:.2f} s of CPU. Peak RSS sampled every 10 ms, highest "
            "over the rounds.",
            "",
            "| system | periods/s | MB/s | peak RSS MiB | |",
            "| --- | --- | --- | ---: | --- |",
        ]
        lines += [
            f"| {r['system']} | {r['periods_per_s'].fmt()} | {r['mb_per_s'].fmt(2)} | "
            f"{r['peak_rss_mib']:.0f} | {r['rss_note']} |"
            for r in s5["rows"]
        ]
        lines += [
            "",
            f"- Ratio of medians {s5['ratio']:.2f}; the ratio within each round (the "
            f"arms back to back) ranges {s5['paired_ratio'].fmt(2)} (min / median / max).",
        ]
    if "memory" in results:
        lines += [
            "",
            "## 6. Memory (RSS, MiB)",
            "",
            "| jobs | gateway | executor | projector |",
            "| ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['jobs']:,} | {r['gateway']:.1f} | {r['executor']:.1f} | {r['projector']:.1f} |"
            for r in results["memory"]["rows"]
        ]
    if meta.get("analysis"):
        lines += ["", "## What bounds each figure", "", meta["analysis"]]
    path.write_text("\n".join(lines) + "\n")


def write_plot(path: Path, results: dict) -> None:
    fig, axes = plt.subplots(3, 2, figsize=(12, 12))
    ax = axes[0][0]
    if "async_noop" in results:
        rows = results["async_noop"]["rows"]
        ax.barh([r["system"] for r in rows], [r["jobs_per_s"].median for r in rows])
        ax.set_xlabel("jobs/s (median)")
    ax.set_title("1. async no-op jobs end to end")
    ax = axes[0][1]
    if "history_scaling" in results:
        for system in sorted({r["system"] for r in results["history_scaling"]["rows"]}):
            rows = [r for r in results["history_scaling"]["rows"] if r["system"] == system]
            ax.plot(
                [r["jobs"] for r in rows],
                [r["list_ms"].median for r in rows],
                "o-",
                label=f"{system} GET /jobs",
            )
            ax.plot(
                [r["jobs"] for r in rows],
                [r["job_ms"].median for r in rows],
                "s--",
                label=f"{system} GET /jobs/{{id}}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("jobs in the view")
        ax.set_ylabel("ms (median)")
        ax.legend(fontsize=7)
    ax.set_title("2. latency with history")
    ax = axes[1][0]
    if "rebuild" in results:
        rows = results["rebuild"]["rows"]
        ax.barh([r["reader"] for r in rows], [r["events_per_s"].median for r in rows])
        ax.set_xlabel("events/s (median)")
    ax.set_title("3. projector rebuild")
    ax = axes[1][1]
    if "concurrency" in results:
        for count in sorted({r["executors"] for r in results["concurrency"]["rows"]}):
            rows = [r for r in results["concurrency"]["rows"] if r["executors"] == count]
            ax.plot(
                [r["concurrency"] for r in rows],
                [r["jobs_per_s"] for r in rows],
                "o-",
                label=f"{count} executor(s)",
            )
            ax.plot(
                [r["concurrency"] for r in rows],
                [r["ideal"] for r in rows],
                ":",
                label=f"ideal, {count}",
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrency per executor")
        ax.set_ylabel("jobs/s")
        ax.legend(fontsize=7)
    ax.set_title("4. executor concurrency (100 ms jobs)")
    ax = axes[2][0]
    if "ingest" in results:
        rows = results["ingest"]["rows"]
        medians = [r["periods_per_s"].median for r in rows]
        spread = [
            [m - r["periods_per_s"].min for m, r in zip(medians, rows, strict=True)],
            [r["periods_per_s"].max - m for m, r in zip(medians, rows, strict=True)],
        ]
        ax.barh([r["system"].split(" (")[0] for r in rows], medians, xerr=spread, capsize=4)
        ax.set_xlabel("periods/s (median, min–max)")
        ax.set_title(
            f"5. ingest (jobstream / bare loop {results['ingest']['ratio']:.2f}, target ≥ 0.8)"
        )
    else:
        ax.set_title("5. ingest")
    axes[2][1].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
