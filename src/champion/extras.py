"""The optional parts of the install, and the one message that names the command adding each.

`pip install champion` brings no DVC (about a hundred packages most teams never use: issue 17).
Whatever needs it calls `require_dvc` first, so a user meets one clear exit 2 naming the exact
install command instead of an ImportError deep in a traceback. Stdlib only: the serving runtime
imports this too.
"""

from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

from champion.errors import ChampionError

# DVC's own extras bring each filesystem (dvc-s3 brings s3fs, ...); champion's mirror them.
_EXTRA_OF_PROTOCOL = {
    "s3": "s3",
    "gs": "gs",
    "gcs": "gs",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "abfss": "azure",
}


class MissingExtra(ChampionError):
    """Something needs a part of champion that is not installed; the message names the command."""


def install_command(extra: str) -> str:
    return f"pip install 'champion[{extra}]'"


def extra_for_url(url: str) -> str:
    """The extra whose filesystem reads `url` (s3:// -> s3, ...); `dvc` for any other scheme."""
    return _EXTRA_OF_PROTOCOL.get(urlsplit(url).scheme.lower(), "dvc")


def has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_dvc(what: str) -> None:
    """Raises MissingExtra unless DVC is importable; `what` says what needed it."""
    if not has("dvc"):
        raise MissingExtra(
            f"{what} needs DVC, which this install of champion does not include: "
            f"{install_command('dvc')} (or [s3], [gs], [azure] for a DVC remote there)"
        )


def require_filesystem(url: str, what: str) -> None:
    """Raises MissingExtra unless fsspec and the filesystem for `url`'s scheme are importable."""
    scheme = urlsplit(url).scheme.lower()
    needed = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}.get(scheme)
    if scheme in ("az", "azure", "abfs", "abfss"):
        needed = "adlfs"
    if has("fsspec") and (needed is None or has(needed)):
        return
    raise MissingExtra(
        f"{what}: reading {scheme}:// needs a filesystem this install of champion does not "
        f"include: {install_command(extra_for_url(url))}"
    )
