"""A false-positive corpus for redaction: real code that holds no credential, as it ships.

The source and docstrings of installed pandas, numpy, matplotlib, scikit-learn (when
installed) and IPython, the project's example notebooks and the tracebacks of real errors.
``scan(redact)`` runs a redaction over it file by file and returns what was masked, line
by line, so a test (test_redaction_corpus.py) and a benchmark (bench/bench_redaction.py)
can say how many masks fall per 10,000 lines.
"""
from __future__ import annotations

import importlib.util
import json
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Code that holds no credential (the false-positive corpus proper), and code that handles
# credentials (servers, HTTP clients): its test suites hold test secrets, true positives.
PACKAGES = ("pandas", "numpy", "matplotlib", "sklearn", "IPython")
CREDENTIAL_PACKAGES = ("jupyter_server", "requests", "urllib3", "tornado", "traitlets", "nbformat",
                       "jupyterlab", "openai", "httpx")

# Code that fails as everyday code does; its tracebacks are part of the corpus.
FAILING = [
    "import pandas as pd\npd.DataFrame({'a': [1]})['revenue']",
    "import pandas as pd\npd.DataFrame({'date': [1]}).groupby(pd.Grouper(key='day'))",
    "{'key': 'product'}['session']",
    "import numpy as np\nnp.zeros((2, 3)) @ np.zeros((2, 3))",
    "int('mobile')",
    "open('/nonexistent/credentials.json')",
    "import json\njson.loads('{\"token\": }')",
    "import pandas as pd\npd.read_csv('missing.csv')",
    "auth_method = 'basic'\nauth_method.decode()",
    "import matplotlib\nmatplotlib.use('nonexistent-backend')",
    "[1, 2][5]",
    "import pandas as pd\npd.to_datetime('not a date')",
]


@dataclass(frozen=True)
class Masked:
    source: str  # a file's path, a notebook's cell, a traceback
    line: str  # the line as it was
    redacted: str  # the line as redacted


@dataclass
class Scan:
    lines: int = 0
    files: int = 0
    masked: list[Masked] = field(default_factory=list)

    def per_10k(self) -> float:
        return 10_000 * len(self.masked) / max(self.lines, 1)


def documents(packages=PACKAGES, notebooks: bool = True):
    """(name, text) of every document of the corpus."""
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        base = Path(list(spec.submodule_search_locations)[0])
        for path in sorted(base.rglob("*.py")):
            try:
                yield f"{package}/{path.relative_to(base)}", path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
    if not notebooks:
        return
    for path in sorted((ROOT / "examples").glob("*.ipynb")):
        for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            source = cell["source"]
            yield f"examples/{path.name} cell {number}", "".join(source) if isinstance(source, list) else source
    for number, code in enumerate(FAILING):
        yield f"traceback {number}", traceback_text(code)


def traceback_text(code: str) -> str:
    try:
        exec(compile(code, f"<cell {code[:20]!r}>", "exec"), {})
    except BaseException:  # noqa: BLE001 - every failure is what we want to read
        return traceback.format_exc()
    return ""


def scan(make_redactor, packages=PACKAGES, notebooks: bool = True) -> Scan:
    """Redact every document with a fresh ``make_redactor()``'s ``redact``; masked lines
    are found again line by line (masks are rare, so whole files go first)."""
    result = Scan()
    for name, text in documents(packages, notebooks):
        result.files += 1
        result.lines += text.count("\n") + 1
        redactor = make_redactor()
        if redactor.redact(text) == text:
            continue
        for line in text.splitlines():
            redacted = make_redactor().redact(line)
            if redacted != line:
                result.masked.append(Masked(name, line, redacted))
    return result
