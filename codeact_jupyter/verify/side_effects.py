"""What a cell does outside its kernel, read from its source before verify runs it again:
files it writes or removes, commands it runs, hosts it calls. A static scan (verify says so):
it names what it sees, and says nothing of what it cannot see."""
from __future__ import annotations

import re

# (pattern, what it does); the first match of each kind names it.
_SIGNS = [
    (re.compile(r"""\bopen\([^)]*,\s*(?:mode\s*=\s*)?['"][^'"]*[wax+]"""), "writes a file"),
    (re.compile(r"\.(?:to_csv|to_parquet|to_excel|to_json|to_pickle|to_feather|to_hdf|to_sql|savefig|"
                r"write_text|write_bytes|save|savez|dump)\("), "writes a file"),
    (re.compile(r"\b(?:os\.(?:remove|unlink|rename|replace|rmdir|makedirs|mkdir)|shutil\.\w+|"
                r"Path\([^)]*\)\.(?:unlink|rename|mkdir|rmdir))\b"), "changes files"),
    (re.compile(r"^\s*(?:!|%%?(?:bash|sh|system|pip|conda)\b)", re.M), "runs a shell command"),
    (re.compile(r"\b(?:subprocess\.\w+|os\.system|os\.popen)\("), "runs a command"),
    (re.compile(r"\b(?:requests|httpx|urllib\.request|urlopen|smtplib|boto3)\b"), "calls the network"),
]


def side_effects(source: str) -> list[str]:
    """What ``source`` looks like it does outside the kernel, each said once."""
    found: list[str] = []
    for pattern, what in _SIGNS:
        if what not in found and pattern.search(source):
            found.append(what)
    return found


def warning(cells: list[tuple[str, str]]) -> str | None:
    """One line naming the cells (label, source) that act outside the kernel, or None."""
    named = [f"{label} ({', '.join(effects)})" for label, source in cells
             if (effects := side_effects(source))]
    if not named:
        return None
    return ("verify runs these again, with their effects outside the kernel: " + "; ".join(named)
            + ". (Read from the code; effects it cannot see are not listed.)")
