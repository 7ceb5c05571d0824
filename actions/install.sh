#!/usr/bin/env bash
# Installs champion from the action's own source into a virtual environment of its own, so the
# caller's Python and packages are left alone, and the project's own requirements next to it (the
# `requirements` input). Shared by action.yml and every actions/*/action.yml.
#
#   install.sh key      writes to $GITHUB_OUTPUT:
#                         key=           the cache key: champion's version and source hash, the
#                                        Python version, the runner's OS and arch, and a hash of
#                                        the requirements when there are any
#                         restore-keys=  with requirements, the key of champion alone: a cache
#                                        without them is restored, and they are installed on top
#                         venv=          a path in the job's temp folder, the same in every step
#                         in-place=      true when an earlier step of this job installed champion
#                                        there: nothing is restored from the cache again
#                         ready=         true when it is in place with these very requirements:
#                                        nothing is installed either (one install per job)
#   install.sh install  creates $CHAMPION_VENV with champion in it when it is not there yet, then
#                       installs the requirements into it. With uv: the runner's, else one
#                       bootstrapped with `pip install uv` into the job's temp folder (about 2 s;
#                       a cold install then takes seconds, not a minute); pip when neither works.
#                       champion's own dependencies are pinned by actions/constraints.txt (`make
#                       constraints` writes it), so every run of an action version installs the
#                       same packages; the project's requirements are installed after, without
#                       it, so where they pin a package their pin wins.
#
# Inputs come from the environment only: CHAMPION_PYTHON (setup-python's python-path, or empty for
# python3 on PATH), CHAMPION_VENV, CHAMPION_REQUIREMENTS (the input: requirements files and
# project folders with extras, such as `.[serve]`, separated by spaces or new lines, relative to
# the repository folder) and CHAMPION_WORKING_DIRECTORY.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
constraints="$root/actions/constraints.txt"

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

# The repository folder, where requirement paths are resolved.
project="${GITHUB_WORKSPACE:-$PWD}"
if [ -n "${CHAMPION_WORKING_DIRECTORY:-}" ]; then
  project="$project/$CHAMPION_WORKING_DIRECTORY"
fi
read -r -a requirements <<< "$(echo "${CHAMPION_REQUIREMENTS:-}" | tr '\n' ' ')"

# champion's extras this repository needs: DVC only when it uses DVC (a .dvc folder), and the
# filesystem of each DVC remote or pointer on S3, Google Cloud Storage or Azure (issue 17: most
# of the ~120 packages of a full install are DVC's). Comma-separated, sorted, maybe empty.
extras_needed() {
  local found=() text=""
  if [ -d "$project/.dvc" ]; then
    found+=(dvc)
    text="$(cat "$project/.dvc/config" "$project/.dvc/config.local" 2> /dev/null || true)"
  fi
  if [ -f "$project/champion.yaml" ]; then
    text="$text
$(grep -E '^[[:space:]]*pointer:' "$project/champion.yaml" || true)"
  fi
  grep -qE '(url|pointer)[[:space:]]*[=:][[:space:]]*["'"'"']?s3://' <<< "$text" && found+=(s3)
  grep -qE '(url|pointer)[[:space:]]*[=:][[:space:]]*["'"'"']?gs://' <<< "$text" && found+=(gs)
  grep -qE '(url|pointer)[[:space:]]*[=:][[:space:]]*["'"'"']?(azure|az)://' <<< "$text" && found+=(azure)
  [ "${#found[@]}" -gt 0 ] || return 0
  printf '%s\n' "${found[@]}" | LC_ALL=C sort -u | paste -sd, -
}

# A requirement is a requirements file, or a project folder with optional extras (`.[serve]`).
folder_of() {
  echo "${1%%\[*}"
}

check_requirements() {
  local entry folder
  for entry in "${requirements[@]}"; do
    if [ -f "$project/$entry" ]; then
      continue
    fi
    folder="$(folder_of "$entry")"
    if [ -d "$project/${folder:-.}" ] &&
      { [ -f "$project/${folder:-.}/pyproject.toml" ] || [ -f "$project/${folder:-.}/setup.py" ]; }; then
      continue
    fi
    fail "requirements: '$entry' is neither a requirements file nor a project folder with a pyproject.toml (such as .[serve]) in $project: fix the action's requirements input"
  done
}

# What decides the installed packages: each entry and its file (a project's build files).
requirements_hash() {
  local entry folder file
  [ "${#requirements[@]}" -gt 0 ] || return 0
  for entry in "${requirements[@]}"; do
    printf '%s\0' "$entry"
    if [ -f "$project/$entry" ]; then
      cat "$project/$entry"
    else
      folder="$(folder_of "$entry")"
      for file in pyproject.toml setup.cfg setup.py; do
        if [ -f "$project/${folder:-.}/$file" ]; then
          cat "$project/${folder:-.}/$file"
        fi
      done
    fi
  done | sha256sum | cut -c1-16
}

# uv: on PATH, or the one bootstrapped earlier in this job; with `bootstrap`, installed with pip
# into a folder of its own when missing (`--target`: a runner's system Python refuses a plain
# `pip install`, PEP 668; and no venv to create, which costs seconds). Empty when none works:
# pip installs instead.
uv=""
find_uv() {
  local tools="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/champion-uv"
  uv="$(command -v uv || true)"
  if [ -z "$uv" ] && [ -x "$tools/bin/uv" ]; then
    uv="$tools/bin/uv"
  fi
  if [ -z "$uv" ] && [ "${1:-}" = bootstrap ]; then
    echo "uv is not on PATH: installing it with pip (pip stays the fallback)"
    if PIP_USER=0 "$python" -m pip install --quiet --disable-pip-version-check --target "$tools" uv &&
      [ -x "$tools/bin/uv" ]; then
      uv="$tools/bin/uv"
    else
      echo "::warning title=champion install::uv could not be installed; installing with pip (slower)"
    fi
  fi
}

install_requirements() {
  local venv="$1" entry folder args
  for entry in "${requirements[@]}"; do
    if [ -f "$project/$entry" ]; then
      args=(-r "$project/$entry")
    else
      # Editable: the cached environment keeps running the checkout's own code.
      folder="$(folder_of "$entry")"
      args=(-e "$project/${folder:-.}${entry#"$folder"}")
    fi
    echo "installing the project's requirements: $entry"
    # The user's pins win: they are installed after champion, changing what they name.
    if [ -n "$uv" ]; then
      (cd "$project" && "$uv" pip install --python "$venv/bin/python" "${args[@]}") ||
        fail "requirements: '$entry' does not install into champion's environment (see the log above): fix it, then rerun; check it locally with: pip install ${args[*]}"
    else
      (cd "$project" && "$venv/bin/python" -m pip install --disable-pip-version-check "${args[@]}") ||
        fail "requirements: '$entry' does not install into champion's environment (see the log above): fix it, then rerun; check it locally with: pip install ${args[*]}"
    fi
  done
}

case "${1:-}" in
  key)
    check_requirements
    pyver="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)"
    # hashFiles() sees only the workspace, not the action's folder: hash its source here.
    source_hash="$(
      cd "$root" &&
        find pyproject.toml actions/constraints.txt src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
    )"
    extras="$(extras_needed)"
    base="champion-${version}-${source_hash}${extras:+-${extras//,/-}}-py${pyver}-${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}"
    wanted="$(requirements_hash)"
    key="$base${wanted:+-req-$wanted}"
    # The same folder with or without requirements: a restored environment is never moved. In
    # the job's temp folder, which the runner empties when a job ends: a later job (on a
    # self-hosted runner, maybe a pull request's, whose code could have changed it) never finds it.
    venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/champion-action/${base}"
    in_place=false
    ready=false
    if [ -x "$venv/bin/python" ] && [ -f "$venv/.champion-installed" ]; then
      in_place=true
      # Without requirements, any environment of this champion will do (one an earlier step
      # installed requirements into included).
      if [ -z "$wanted" ] || [ "$(cat "$venv/.champion-requirements" 2> /dev/null || true)" = "$wanted" ]; then
        ready=true
      fi
    fi
    {
      echo "key=${key}"
      echo "restore-keys=${wanted:+$base}"
      echo "venv=${venv}"
      echo "python=${python}"
      echo "in-place=${in_place}"
      echo "ready=${ready}"
    } >> "$GITHUB_OUTPUT"
    if [ "$ready" = true ]; then
      echo "champion ${version} (source ${source_hash}) is installed in ${venv}: used as is"
    else
      echo "champion ${version} (source ${source_hash}) for Python ${pyver}: ${venv}"
    fi
    ;;
  install)
    venv="${CHAMPION_VENV:?}"
    check_requirements
    if [ -x "$venv/bin/python" ] && [ -f "$venv/.champion-installed" ]; then
      echo "champion is already installed in $venv"
    else
      rm -rf "$venv"
      extras="$(extras_needed)"
      source="$root${extras:+[$extras]}"
      echo "installing champion${extras:+ with its extras $extras}"
      find_uv bootstrap
      if [ -n "$uv" ]; then
        "$uv" venv --quiet --python "$python" "$venv"
        "$uv" pip install --quiet --python "$venv/bin/python" --constraint "$constraints" "$source"
      else
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --constraint "$constraints" "$source"
      fi
      "$venv/bin/python" -m champion --version
      touch "$venv/.champion-installed"
      rm -f "$venv/.champion-requirements"
    fi
    wanted="$(requirements_hash)"
    if [ -n "$wanted" ] && [ "$(cat "$venv/.champion-requirements" 2> /dev/null || true)" != "$wanted" ]; then
      [ -n "$uv" ] || find_uv
      install_requirements "$venv"
      echo "$wanted" > "$venv/.champion-requirements"
    fi
    ;;
  *)
    fail "usage: install.sh key|install"
    ;;
esac
