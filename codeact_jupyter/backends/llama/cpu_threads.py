"""How many threads llama.cpp should use: the machine's physical cores.

llama-cpp-python's default is half the logical CPUs, which is one thread on a two-core
machine without hyper-threading, and half the speed. Hyper-threads share a core's
arithmetic units and add little to matrix work, so physical cores are the right count.
"""
from __future__ import annotations

import os
import subprocess
import sys


def physical_cores() -> int:
    """Physical cores this process may run on (at least 1)."""
    usable = _usable_cpus()
    cores = _linux_cores(usable) if sys.platform.startswith("linux") else _sysctl_cores()
    if cores is None:
        return max(1, len(usable) if usable else (os.cpu_count() or 1))
    return max(1, min(cores, len(usable)) if usable else cores)


def _usable_cpus() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _linux_cores(usable: set[int] | None) -> int | None:
    """Distinct (package, core) pairs in /proc/cpuinfo among the CPUs we may use."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    cores = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "processor" not in fields or "core id" not in fields:
            continue
        if usable is not None and int(fields["processor"]) not in usable:
            continue
        cores.add((fields.get("physical id", "0"), fields["core id"]))
    return len(cores) or None


def _sysctl_cores() -> int | None:
    """macOS: hw.physicalcpu."""
    try:
        out = subprocess.run(["sysctl", "-n", "hw.physicalcpu"], capture_output=True,
                             text=True, timeout=2).stdout
        return int(out.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
