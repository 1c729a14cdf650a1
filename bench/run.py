"""`make bench`: Mailpulse measured through its public interfaces on this machine.

    .venv/bin/python bench/run.py [--scenario ingest,latency,sending,history,memory] [options]

Prints one JSON line per result on stdout, then a markdown table, and writes the table to
bench/RESULTS.md with the date, the commit and the machine. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailpulse_bench import harness
from mailpulse_bench.harness import ROOT, Result, say

SCENARIOS = ("ingest", "latency", "sending", "history", "memory", "soak")
# `make bench` with no SCENARIO: all but the 30-minute soak.
DEFAULT_SCENARIOS = SCENARIOS[:-1]


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="all", help="comma-separated, or all")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    group = parser.add_argument_group("ingest")
    group.add_argument("--ingest-batches", type=_ints, default=[1, 100, 1000])
    group.add_argument("--ingest-senders", type=_ints, default=[1, 8])
    group.add_argument("--ingest-seconds", type=float, default=8)
    group.add_argument("--ingest-dashboards", type=int, default=20)
    group = parser.add_argument_group("latency")
    group.add_argument("--latency-dashboards", type=int, default=100)
    group.add_argument("--latency-rate", type=int, default=1000, help="events per second")
    group.add_argument("--latency-batch", type=int, default=10, help="events per webhook")
    group.add_argument("--latency-seconds", type=float, default=20)
    group.add_argument("--fanout-dashboards", type=int, default=1000)
    group.add_argument("--fanout-rate", type=int, default=20, help="events per second")
    group.add_argument("--fanout-seconds", type=float, default=20)
    group = parser.add_argument_group("sending")
    group.add_argument("--recipients", type=int, default=10000)
    group.add_argument("--sandbox-latency-ms", type=float, default=0)
    group.add_argument("--sending-timeout", type=float, default=600)
    group = parser.add_argument_group("history")
    group.add_argument("--history-rows", type=int, default=10_000_000)
    group.add_argument("--history-days", type=int, default=30)
    group.add_argument("--history-requests", type=int, default=100, help="per query")
    group = parser.add_argument_group("memory")
    group.add_argument("--memory-seconds", type=float, default=120)
    group.add_argument("--memory-dashboards", type=int, default=100)
    group.add_argument("--memory-rate", type=int, default=200, help="events per second")
    group = parser.add_argument_group("soak")
    group.add_argument("--soak-seconds", type=float, default=1800)
    group.add_argument("--soak-dashboards", type=int, default=50)
    group.add_argument("--soak-rate", type=int, default=500, help="events per second")
    group.add_argument("--soak-recipients", type=int, default=5000, help="per campaign")
    args = parser.parse_args(argv)
    chosen = DEFAULT_SCENARIOS if args.scenario in ("", "all") else tuple(args.scenario.split(","))
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}; one of {SCENARIOS}")
    args.scenarios = chosen
    return args


def _machine() -> str:
    mem_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pg = harness.sql("postgres", "SHOW server_version")[0][0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB memory, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"PostgreSQL {pg}"
    )


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


KEY_FIGURES = {
    "ingest": ("events_per_s", "requests_per_s", "p50_ms", "p99_ms", "lost", "duplicated"),
    "latency": ("dashboards", "events_per_s", "p50_ms", "p99_ms", "missing", "dropped"),
    "sending": ("recipients", "messages_per_s", "sent", "seconds"),
    "history": ("p50_ms", "p95_ms", "errors", "full_table_scans", "rows_read_per_request"),
    "memory": ("peak_rss_mb", "growth_mb", "samples_mb"),
    "soak": ("events_sent", "lost", "duplicated", "missing", "sent", "growth_mb", "samples_mb"),
}


def _cell(value) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | case | figures | targets |",
        "| --- | --- | --- | --- |",
    ]
    for result in results:
        keys = KEY_FIGURES.get(result.scenario, ())
        figures = ", ".join(f"{k} {_cell(result.figures[k])}" for k in keys if k in result.figures)
        targets = ", ".join(
            f"{name} {bound}: {'met' if met else 'NOT met' if met is False else 'n/a'}"
            for name, (bound, met) in result.targets.items()
        )
        lines.append(f"| {result.scenario} | {result.case} | {figures} | {targets} |")
    return "\n".join(lines)


def write_results(path: str, results: list[Result], args, started: float) -> None:
    header = [
        "# Mailpulse benchmark results",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {_commit()}",
        f"- machine: {_machine()}",
        f"- scenarios: {', '.join(args.scenarios)} ({time.monotonic() - started:.0f} s in all)",
        "- command: `make bench"
        + (f" SCENARIO={','.join(args.scenarios)}`" if args.scenario != "all" else "`"),
        "",
        "Written by `make bench` (bench/run.py); bench/README.md says what each scenario does.",
        "The load generator runs on the same cores as the product.",
        "",
        table(results),
        "",
    ]
    notes = [f"- {r.scenario}: {n}" for r in results for n in r.notes]
    if notes:
        header += ["## Notes", "", *dict.fromkeys(notes), ""]
    Path(path).write_text("\n".join(header))


def main(argv=None) -> int:
    args = options(argv)
    started = time.monotonic()
    results: list[Result] = []
    failed = []
    for name in args.scenarios:
        say(f"scenario {name}")
        module = __import__(f"mailpulse_bench.{name}", fromlist=["run"])
        try:
            scenario_results = module.run(args)
        except Exception as error:  # report and go on with the next scenario
            say(f"scenario {name} failed: {type(error).__name__}: {error}")
            failed.append(name)
            scenario_results = [
                Result(name, "failed", {"error": f"{type(error).__name__}: {error}"[:300]})
            ]
        for result in scenario_results:
            print(result.line(), flush=True)
        results.extend(scenario_results)
    print()
    print(table(results))
    write_results(args.results, results, args, started)
    say(f"wrote {args.results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
