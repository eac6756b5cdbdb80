"""How the bench commands print: a small table for people, then one line of JSON for machines."""

import json
import platform
import statistics

from django.db import connection


def print_table(out, title: str, rows) -> None:
    rows = [(str(name), str(value)) for name, value in rows]
    width = max([len(name) for name, _value in rows] + [len(title)])
    out.write(title)
    out.write("-" * (width + 2 + max([len(value) for _name, value in rows] + [1])))
    for name, value in rows:
        out.write(f"{name.ljust(width)}  {value}")


def dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, sort_keys=True, default=str)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(values: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "max_ms": round(max(values), 1),
        "runs": len(values),
    }


def machine() -> dict:
    """Where the figures come from: cores, memory and the database server's version."""
    import os

    memory_gib = None
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
            memory_gib = round(kib / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "postgresql": server_version,
        "database_host": connection.settings_dict.get("HOST") or "local socket",
    }
