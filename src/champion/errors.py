"""The exceptions the library raises; only the CLI turns them into exit codes."""

from __future__ import annotations


class ChampionError(Exception):
    """An expected failure: bad input, a bad repository state, a refused write.

    The message names the input at fault and what to do about it.
    """

    exit_code = 2


class ConfigError(ChampionError):
    """`champion.yaml` (or `dvc.yaml`) is malformed or names something that does not exist."""


class GitError(ChampionError):
    """A git command failed in a way the user can act on (not a repository, no commits, ...)."""


class RegistryError(ChampionError):
    """A registry operation was refused: unknown version, version taken, stage not allowed."""


class PushRejected(ChampionError):
    """The remote refused an atomic push because someone else wrote first, every retry over."""


class GateFailed(ChampionError):
    """The candidate did not pass the gate."""

    exit_code = 1


class GitHubError(ChampionError):
    """The GitHub API refused or failed a request: a missing permission, no pull request, an
    outage that outlasted the retries. The message never carries the token."""


class PolicyRefused(ChampionError):
    """champion.yaml's `policy:` does not let this stage write happen (yet, or by this actor)."""
