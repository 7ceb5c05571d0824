#!/usr/bin/env bash
# Installs champion from the action's own source into a virtual environment of its own, so the
# caller's Python and packages are left alone. Shared by action.yml and every actions/*/action.yml.
#
#   install.sh key      writes key=, venv= and python= to $GITHUB_OUTPUT: the cache key (the action's
#                       version and source hash, the Python version, the runner's OS and arch) and a
#                       venv path that is the same on every run, so a restored cache is usable as is
#   install.sh install  creates $CHAMPION_VENV and installs champion in it (uv when present, else pip)
#
# Inputs come from the environment only: CHAMPION_PYTHON (setup-python's python-path, or empty for
# python3 on PATH) and CHAMPION_VENV.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() {
  echo "::error title=champion install::$1"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '### champion: installing the action failed\n\n%s\n' "$1" >> "$GITHUB_STEP_SUMMARY"
  fi
  exit 2
}
trap 'fail "installing champion from $root failed at line $LINENO; see the log above"' ERR

python="${CHAMPION_PYTHON:-}"
if [ -z "$python" ]; then
  python="$(command -v python3 || command -v python || true)"
fi
[ -n "$python" ] || fail "no python3 on PATH: give the action a python-version input"

case "${1:-}" in
  key)
    pyver="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)"
    # hashFiles() sees only the workspace, not the action's folder: hash its source here.
    source_hash="$(
      cd "$root" &&
        find pyproject.toml src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
    )"
    key="champion-${version}-${source_hash}-py${pyver}-${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}"
    venv="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/champion-action/${key}"
    {
      echo "key=${key}"
      echo "venv=${venv}"
      echo "python=${python}"
    } >> "$GITHUB_OUTPUT"
    echo "champion ${version} (source ${source_hash}) for Python ${pyver}: ${venv}"
    ;;
  install)
    venv="${CHAMPION_VENV:?}"
    if [ -x "$venv/bin/python" ] && [ -f "$venv/.champion-installed" ]; then
      echo "champion is already installed in $venv"
      exit 0
    fi
    rm -rf "$venv"
    if command -v uv > /dev/null; then
      uv venv --quiet --python "$python" "$venv"
      uv pip install --quiet --python "$venv/bin/python" "$root"
    else
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root"
    fi
    "$venv/bin/python" -m champion --version
    touch "$venv/.champion-installed"
    ;;
  *)
    fail "usage: install.sh key|install"
    ;;
esac
