#!/usr/bin/env bash
# Finds or installs the pinned command-line tools of the dev stack (kind, pulumi, helm, kubectl).
#
# The pins are scripts/tools.lock: per tool and platform a version, the oldest version that still
# works (min), the official release URL and its published sha256. A tool counts as present when
# .cache/tools/<tool> or a <tool> on PATH reports a version >= min; otherwise `install` downloads
# the pinned release into .cache/tools (which scripts/env.sh puts first on PATH) and keeps it only
# when its sha256 matches. A pin without a sha256 is never installed unverified: it is reported.
#
# Usage: bash scripts/tools.sh check TOOL...      every TOOL present (else: how to get it, exit 1)
#        bash scripts/tools.sh preflight TOOL...  every TOOL present or installable (changes nothing)
#        bash scripts/tools.sh install TOOL...    install the pinned TOOLs that are missing or too old
#        bash scripts/tools.sh status TOOL...     one line per TOOL: where, which version
# Works with macOS's bash 3.2 (no associative arrays, no mapfile, guarded empty arrays).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$ROOT/scripts/tools.lock"
TOOLS_DIR="$ROOT/.cache/tools"

# How to install each tool by hand (the official instructions), for the messages.
manual_install() {
  case "$1" in
    kind) echo "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    pulumi) echo "curl -fsSL https://get.pulumi.com | sh (https://www.pulumi.com/docs/install/)" ;;
    helm) echo "https://helm.sh/docs/intro/install/" ;;
    kubectl) echo "https://kubernetes.io/docs/tasks/tools/" ;;
    *) echo "see its documentation" ;;
  esac
}

platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) os="$(uname -s | tr '[:upper:]' '[:lower:]')" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  echo "$os-$arch"
}

# The lock row of TOOL on this platform: "version min archive sha256 url" (empty when none).
pin() {
  local want="$1" plat tool version min platform archive sha url
  plat="$(platform)"
  while read -r tool version min platform archive sha url; do
    case "$tool" in '' | '#'*) continue ;; esac
    if [ "$tool" = "$want" ] && [ "$platform" = "$plat" ]; then
      echo "$version $min $archive $sha $url"
      return 0
    fi
  done <"$LOCK"
  return 0
}

# The oldest version of TOOL that works (scripts/tools.lock), 0.0.0 when it is not pinned here.
min_version() {
  local row
  row="$(pin "$1")"
  if [ -n "$row" ]; then echo "$row" | awk '{print $2}'; else echo 0.0.0; fi
}

# x.y.z of whatever a tool prints about its version (first match), or nothing.
tool_version() {
  local bin="$1" out
  case "$(basename "$bin")" in
    kind | pulumi) out="$("$bin" version 2>/dev/null || true)" ;;
    helm) out="$("$bin" version --short 2>/dev/null || true)" ;;
    kubectl) out="$("$bin" version --client 2>/dev/null || true)" ;;
    *) out="$("$bin" --version 2>/dev/null || true)" ;;
  esac
  printf '%s\n' "$out" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true
}

# version_ge A B: A >= B, both x.y.z (numeric; old macOS sort has no -V).
version_ge() {
  local IFS=. i
  # shellcheck disable=SC2206 # splitting on the dots is the point
  local a=($1) b=($2)
  for i in 0 1 2; do
    if [ "${a[i]:-0}" -gt "${b[i]:-0}" ]; then return 0; fi
    if [ "${a[i]:-0}" -lt "${b[i]:-0}" ]; then return 1; fi
  done
  return 0
}

# Sets FOUND to the first usable TOOL ("path version"), .cache/tools first, empty when none is new
# enough, and FOUND_OLD to a too-old one, for the message. A TOOL that prints no version at all is
# used (with a warning) when nothing better is found. Globals: a $(...) subshell loses them.
FOUND=""
FOUND_OLD=""
find_tool() {
  local tool="$1" min="$2" candidate version candidates unknown=""
  FOUND=""
  FOUND_OLD=""
  candidates="$(printf '%s\n' "$TOOLS_DIR/$tool"; type -ap "$tool" 2>/dev/null || true)"
  while IFS= read -r candidate; do
    if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
    version="$(tool_version "$candidate")"
    if [ -z "$version" ]; then
      [ -n "$unknown" ] || unknown="$candidate"
    elif version_ge "$version" "$min"; then
      FOUND="$candidate $version"
      return 0
    elif [ -z "$FOUND_OLD" ]; then
      FOUND_OLD="$candidate $version"
    fi
  done <<<"$candidates"
  if [ -n "$unknown" ] && [ -z "$FOUND_OLD" ]; then
    echo "warning: $unknown prints no version (expected >= $min); using it" >&2
    FOUND="$unknown unknown"
  fi
  return 0
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Why TOOL cannot be installed from its pin here (empty when it can).
install_blocker() {
  local tool="$1" row version min archive sha url cmd
  local missing=()
  row="$(pin "$tool")"
  if [ -z "$row" ]; then
    echo "scripts/tools.lock pins no $tool build for $(platform): install $tool yourself: $(manual_install "$tool")"
    return 0
  fi
  read -r version min archive sha url <<<"$row"
  if [ "$sha" = "-" ] || [ -z "$sha" ]; then
    echo "scripts/tools.lock pins $tool $version for $(platform) without its sha256, so it is not" \
      "installed unverified: copy the published sha256 of $url into scripts/tools.lock," \
      "or install $tool >= $min yourself: $(manual_install "$tool")"
    return 0
  fi
  for cmd in curl tar; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  command -v sha256sum >/dev/null 2>&1 || command -v shasum >/dev/null 2>&1 || missing+=("sha256sum/shasum")
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing $tool $version needs ${missing[*]} (not found); or install $tool >= $min yourself:" \
      "$(manual_install "$tool")"
  fi
  return 0
}

# One line per TOOL that is missing: with `check` every one (saying how to get it); with
# `preflight` only those that cannot be installed from their pin.
problems() {
  local mode="$1" tool have why
  shift
  for tool in "$@"; do
    find_tool "$tool" "$(min_version "$tool")"
    [ -z "$FOUND" ] || continue
    have="not found"
    [ -z "$FOUND_OLD" ] || have="${FOUND_OLD#* } at ${FOUND_OLD%% *} is older than $(min_version "$tool")"
    why="$(install_blocker "$tool")"
    if [ -n "$why" ]; then
      echo "$tool: $have, and $why"
    elif [ "$mode" = check ]; then
      echo "$tool: $have. Install the pinned release (sha256-verified) into .cache/tools:" \
        "bash scripts/tools.sh install $tool (or yourself: $(manual_install "$tool"))"
    fi
  done
}

download_verified() {
  local url="$1" sha="$2" out="$3" got
  if ! curl -fsSL --retry 3 --proto '=https' --tlsv1.2 -o "$out" "$url"; then
    echo "could not download $url" >&2
    return 1
  fi
  got="$(sha256_of "$out")"
  if [ "$got" != "$sha" ]; then
    echo "sha256 mismatch for $url: got $got, scripts/tools.lock pins $sha; nothing installed" >&2
    return 1
  fi
}

# Downloads go to WORK, a private directory inside .cache/tools (same file system: the final mv is
# atomic, so nobody ever runs a half-written binary), removed on exit.
WORK=""
cleanup() { if [ -n "$WORK" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

install_one() {
  local tool="$1" version min archive sha url why file
  why="$(install_blocker "$tool")"
  if [ -n "$why" ]; then
    echo "$tool: $why" >&2
    return 1
  fi
  read -r version min archive sha url <<<"$(pin "$tool")"
  echo "==> $tool $version from $url"
  mkdir -p "$TOOLS_DIR"
  [ -n "$WORK" ] || WORK="$(mktemp -d "$TOOLS_DIR/.install.XXXXXX")"
  rm -rf "${WORK:?}/$tool"
  mkdir "$WORK/$tool"
  download_verified "$url" "$sha" "$WORK/$tool/download"
  if [ "$archive" = binary ]; then
    chmod 0755 "$WORK/$tool/download"
    mv -f "$WORK/$tool/download" "$TOOLS_DIR/$tool"
  else
    mkdir "$WORK/$tool/x"
    tar -xzf "$WORK/$tool/download" -C "$WORK/$tool/x"
    # Every executable of the archive's directory (pulumi ships its language hosts beside it).
    for file in "$WORK/$tool/x/${archive#tar.gz:}"/*; do
      if [ -f "$file" ] && [ -x "$file" ]; then mv -f "$file" "$TOOLS_DIR/$(basename "$file")"; fi
    done
  fi
  if [ ! -x "$TOOLS_DIR/$tool" ]; then
    echo "$tool: the verified download holds no executable '$tool'" >&2
    return 1
  fi
  echo "    installed $TOOLS_DIR/$tool ($(tool_version "$TOOLS_DIR/$tool"), sha256 verified)"
}

main() {
  local command="${1:-}" tool out
  [ "$#" -eq 0 ] || shift
  case "$command" in
    check | preflight)
      out="$(problems "$command" "$@")"
      [ -n "$out" ] || return 0
      [ "$command" = preflight ] || echo "Missing or too old tools:" >&2
      printf '%s\n' "$out" | sed 's/^/  - /' >&2
      return 1
      ;;
    install)
      for tool in "$@"; do
        find_tool "$tool" "$(min_version "$tool")"
        [ -n "$FOUND" ] || install_one "$tool"
      done
      ;;
    status)
      for tool in "$@"; do
        find_tool "$tool" "$(min_version "$tool")"
        echo "$tool: ${FOUND:-missing (needs >= $(min_version "$tool"))}"
      done
      ;;
    *)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      return 2
      ;;
  esac
}

main "$@"
