"""Where the llama backend's model file comes from: a local path, or a Hugging Face reference
downloaded once into the standard Hugging Face cache.

A model is given as either

* a local path: ``/models/CodeActAgent-Mistral-7b-v0.1.q8_0.gguf`` (``~`` is expanded), or
* a Hugging Face reference ``owner/repo:file.gguf``, e.g.
  ``xingyaoww/CodeActAgent-Mistral-7b-v0.1.q8_0.gguf:CodeActAgent-Mistral-7b-v0.1.q8_0.gguf``
  (the file may sit in a folder of the repository: ``owner/repo:folder/file.gguf``).

An existing local path always wins. A reference already in the cache is used without any
network access; otherwise it is downloaded with ``huggingface_hub.hf_hub_download`` (so
``HF_HOME``, ``HF_HUB_CACHE``, ``HF_ENDPOINT``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` apply), with
a progress bar: an ipywidgets bar inside a notebook kernel, text on stderr elsewhere.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..base import BackendError

# The q8_0 GGUF that the CodeAct authors published for llama.cpp (the model card is in
# their repository's README: "pre-converted quantized version (q8_0)").
DEFAULT_MODEL_REPO = "xingyaoww/CodeActAgent-Mistral-7b-v0.1.q8_0.gguf"
DEFAULT_MODEL_FILE = "CodeActAgent-Mistral-7b-v0.1.q8_0.gguf"
DEFAULT_MODEL = f"{DEFAULT_MODEL_REPO}:{DEFAULT_MODEL_FILE}"
# Download: 7.7 GB. Memory: about 9.5 GB of RAM or GPU memory at an 8,192-token context
# (7.7 GB of weights, 1 GiB of f16 K/V cache for 32 layers x 8 KV heads x 128, plus buffers).
DEFAULT_MODEL_DOWNLOAD_GB = 7.7
DEFAULT_MODEL_MEMORY_GB = 9.5

# How long the Hub may take to answer before we call it unreachable.
PROBE_SECONDS = 2.5

_HUB_REFERENCE = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+):(?P<file>[^:\s]+\.gguf)$")


def parse_hub_reference(spec: str) -> tuple[str, str] | None:
    """``(repo_id, filename)`` for ``owner/repo:file.gguf``; None for anything else."""
    match = _HUB_REFERENCE.match(spec.strip())
    return (match["repo"], match["file"]) if match else None


def resolve_model_path(spec: str | None) -> Path:
    """The local file for ``spec`` (None: the default model), downloading it when needed."""
    spec = (spec or DEFAULT_MODEL).strip()
    local = Path(os.path.expanduser(spec))
    if local.is_file():
        return local.resolve()
    if local.is_dir():
        raise BackendError(
            f"{local.resolve()} is a folder. Pass the .gguf file inside it, e.g. "
            f"`%%codeact --model {local / 'model.gguf'}`."
        )
    reference = parse_hub_reference(spec)
    if reference is None:
        raise BackendError(_missing_file_message(spec, local))
    return download(*reference)


def _missing_file_message(spec: str, local: Path) -> str:
    where = local if local.is_absolute() else f"{local} (relative to {Path.cwd()})"
    return (
        f"Model file not found: looked for {where}. Pass the path of a .gguf file, e.g. "
        "`%%codeact --model /path/to/model.gguf`, or a Hugging Face reference "
        f"`owner/repo:file.gguf`, e.g. `--model {DEFAULT_MODEL}` (the default when no model "
        "is given)."
    )


def download(repo_id: str, filename: str) -> Path:
    """The cached file, downloaded first when it is not in the cache yet."""
    import inspect

    import huggingface_hub
    from huggingface_hub import (
        utils as errors,  # also where versions before 0.24 keep them
    )

    cached = huggingface_hub.try_to_load_from_cache(repo_id, filename)
    if isinstance(cached, str) and os.path.isfile(cached):
        return Path(cached)
    if not huggingface_hub.constants.HF_HUB_OFFLINE:
        problem = hub_unreachable(huggingface_hub.hf_hub_url(repo_id, filename))
        if problem:
            raise BackendError(_offline_message(repo_id, filename, problem))
    options = {"etag_timeout": PROBE_SECONDS}
    if "tqdm_class" in inspect.signature(huggingface_hub.hf_hub_download).parameters:
        options["tqdm_class"] = _progress_bar()  # older versions pick tqdm.auto themselves
    try:
        return Path(huggingface_hub.hf_hub_download(repo_id, filename, **options))
    except errors.LocalEntryNotFoundError as exc:
        raise BackendError(_offline_message(repo_id, filename, exc)) from exc
    except (errors.RepositoryNotFoundError, errors.GatedRepoError) as exc:
        raise BackendError(
            f"Hugging Face has no public model repository {repo_id!r} (or it is private or gated: "
            "log in with `hf auth login` if you have access). Check the reference, written "
            "`owner/repo:file.gguf`, or pass a local file with `--model /path/to/model.gguf`."
        ) from exc
    except errors.EntryNotFoundError as exc:
        raise BackendError(
            f"The Hugging Face repository {repo_id} has no file {filename!r}. Check the file name "
            f"on https://huggingface.co/{repo_id}/tree/main and pass "
            f"`--model {repo_id}:<file>.gguf`."
        ) from exc
    except (OSError, ValueError) as exc:  # disk full, permissions, HTTP errors...
        raise BackendError(
            f"Downloading {filename} from {repo_id} failed: {exc}. "
            + _by_hand(repo_id, filename)
        ) from exc


def hub_unreachable(url: str, seconds: float = PROBE_SECONDS) -> str | None:
    """Why ``url`` cannot be reached, or None when its server answers (any HTTP status).

    huggingface_hub retries an unreachable Hub for 20 seconds and more, printing a warning
    each time; one short request first lets a machine without access fail at once. It runs
    in a thread so that a slow name lookup, which no socket timeout bounds, is bounded too."""
    import threading
    import urllib.error
    import urllib.request

    outcome: list[str | None] = []

    def probe() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=seconds)
            outcome.append(None)
        except urllib.error.HTTPError:
            outcome.append(None)  # the server answered: let huggingface_hub say what it meant
        except (OSError, ValueError) as exc:
            outcome.append(str(getattr(exc, "reason", None) or exc))

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(seconds)
    return outcome[0] if outcome else f"no answer within {seconds:g} s"


def _offline_message(repo_id: str, filename: str, exc: object) -> str:
    from huggingface_hub import constants

    reason = ("offline mode is on (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE
              else f"the Hugging Face Hub could not be reached ({exc})")
    size = (f" ({DEFAULT_MODEL_DOWNLOAD_GB} GB)"
            if (repo_id, filename) == (DEFAULT_MODEL_REPO, DEFAULT_MODEL_FILE) else "")
    return (
        f"The model {repo_id}:{filename}{size} is not downloaded yet and {reason}. "
        + _by_hand(repo_id, filename)
    )


def _by_hand(repo_id: str, filename: str) -> str:
    from huggingface_hub import constants, hf_hub_url

    return (
        f"Download it by hand from {hf_hub_url(repo_id, filename)} and pass the file with "
        f"`%%codeact --model /path/to/{Path(filename).name}`; or, on a machine with access, "
        f"`hf download {repo_id} {filename}` puts it in the Hugging Face cache "
        f"({constants.HF_HUB_CACHE}), where it is found without a download."
    )


def _progress_bar() -> type:
    """ipywidgets bar inside a notebook kernel (when ipywidgets is installed), text otherwise."""
    try:
        from IPython import get_ipython

        in_kernel = getattr(get_ipython(), "kernel", None) is not None
    except ImportError:
        in_kernel = False
    if in_kernel:
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm
