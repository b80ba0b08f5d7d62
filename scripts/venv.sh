#!/usr/bin/env bash
# Creates or refreshes .venv (the virtualenv Pulumi.yaml names) with a supported Python.
#
# The interpreter is checked BEFORE .venv is created: every pin installs from wheels on Python
# 3.11 and 3.12 only (pyproject.toml requires-python; numpy 1.26.4 has no 3.13 wheel). It is
# $PYTHON when set, else the first of python3.12, python3.11, python3 that is supported. An
# existing .venv made by an unsupported Python is recreated. Requirements are installed again only
# when they (or the interpreter) changed: a stamp in .venv records what was installed.
#
# Usage: bash scripts/venv.sh [--check] [REQUIREMENTS]   (default requirements.txt)
#   --check: only say whether a supported Python is available; create nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Keep in step with pyproject.toml requires-python (tests/scripts/test_python_version.py checks).
SUPPORTED_PYTHONS="3.12 3.11"

py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }
is_supported() { case " $SUPPORTED_PYTHONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
supported_list() { echo "$SUPPORTED_PYTHONS" | tr ' ' '\n' | sort | paste -sd, - | sed 's/,/, /g'; }

# Sets PY to the first supported interpreter with a working venv module (empty when none) and SEEN
# to the others, for the message. Globals: a $(...) subshell would lose SEEN.
PY=""
SEEN=""
find_python() {
  local candidates candidate version
  PY=""
  SEEN=""
  if [ -n "${PYTHON:-}" ]; then candidates="$PYTHON"; else candidates="python3.12 python3.11 python3"; fi
  for candidate in $candidates; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    version="$(py_version "$candidate")"
    if [ -n "$version" ] && is_supported "$version"; then
      if "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        PY="$candidate"
        return 0
      fi
      SEEN="$SEEN $candidate (Python $version, without its venv module: install python$version-venv)"
    else
      SEEN="$SEEN $candidate (Python ${version:-?})"
    fi
  done
  return 0
}

no_python_message() {
  local seen="${SEEN# }"
  echo "No supported Python for .venv: this project supports Python $(supported_list)" \
    "(pyproject.toml requires-python).${seen:+ Found:$SEEN.}${PYTHON:+ (PYTHON=$PYTHON was asked for.)}" >&2
  echo "Install one and run again, e.g.: brew install python@3.12 | sudo apt install python3.12 python3.12-venv" \
    "| pyenv install 3.12 | uv python install 3.12; or point PYTHON at one: PYTHON=/path/to/python3.12" >&2
}

# .venv usable as it is: its interpreter runs and is supported.
venv_ok() { [ -x .venv/bin/python ] && is_supported "$(py_version .venv/bin/python)"; }

# What an install of REQUIREMENTS depends on: the interpreter and the requirement files.
stamp_of() {
  .venv/bin/python -c 'import hashlib, sys
h = hashlib.sha256(sys.version.encode())
for path in sys.argv[1:]:
    h.update(open(path, "rb").read())
print(h.hexdigest())' "$1" requirements.txt
}

main() {
  local check=0 requirements=requirements.txt python version
  if [ "${1:-}" = "--check" ]; then check=1 && shift; fi
  [ -z "${1:-}" ] || requirements="$1"
  if [ ! -f "$requirements" ]; then
    echo "no requirements file $requirements in $ROOT" >&2
    return 2
  fi
  if venv_ok; then
    [ "$check" -eq 0 ] || return 0
  else
    find_python
    python="$PY"
    if [ -z "$python" ]; then
      no_python_message
      return 1
    fi
    [ "$check" -eq 0 ] || return 0
    version="$(py_version "$python")"
    if [ -e .venv ] && ! venv_ok; then
      echo "==> .venv was made by an unsupported or missing Python ($(py_version .venv/bin/python || true)):" \
        "recreating it with $python (Python $version)"
      "$python" -m venv --clear .venv
    elif [ ! -x .venv/bin/python ]; then
      echo "==> creating .venv with $python (Python $version)"
      "$python" -m venv .venv
    fi
  fi
  install_requirements "$requirements"
}

# pip install -r REQUIREMENTS unless the stamp says it (or requirements-dev.txt, which includes
# requirements.txt) is installed already for this interpreter.
install_requirements() {
  local requirements="$1" name want
  name="$(basename "$requirements")"
  want="$(stamp_of "$requirements")"
  if [ -n "$want" ] && [ "$(cat ".venv/.stamp-$name" 2>/dev/null || true)" = "$want" ]; then return 0; fi
  if [ "$name" = requirements.txt ] && [ -f requirements-dev.txt ] &&
    [ "$(cat .venv/.stamp-requirements-dev.txt 2>/dev/null || true)" = "$(stamp_of requirements-dev.txt)" ]; then
    return 0
  fi
  echo "==> installing $requirements into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$requirements"
  # Written last: its presence means the install completed.
  echo "$want" >".venv/.stamp-$name"
}

main "$@"
