#!/usr/bin/env bash
# Brings up the dev stack on this machine and checks it: kind + SeaweedFS + Prometheus operator + CPU
# Triton serving the generated sample model, with state in this checkout (.state/pulumi, a file
# backend: no Pulumi account), then a smoke request compared with onnxruntime.
#
# It needs Docker and a Python 3.11/3.12; it installs the rest: the pinned kind, Pulumi CLI, helm and
# kubectl (scripts/tools.lock, sha256-verified, into .cache/tools) and .venv. It first states what
# the dev stack needs, then checks all of it (Docker's memory, CPUs and disk through `docker info`,
# Python, every tool) and lists every problem at once before it changes anything.
#
# Usage: bash scripts/dev-up.sh [--check | --tools] [pulumi up options...]
#   --check  only check this machine (changes nothing)
#   --tools  check, install the pinned tools into .cache/tools, and stop
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# What the dev stack needs (sized for the local defaults: a 4-CPU, 8 GB Docker VM).
MIN_MEMORY_MIB=7400      # an "8 GB" Docker Desktop/colima VM reports about 7.6-7.8 GiB
MIN_FREE_MEMORY_MIB=6144 # what the containers already running must leave (this stack's own excepted)
MIN_CPUS=4
MIN_DISK_GIB=40 # the Triton image alone is ~16 GB unpacked, pulled into the kind node
TOOLS="kind pulumi helm kubectl"

say_requirements() {
  cat <<EOF
==> The dev stack needs:
    - Docker, with a VM (Docker Desktop, colima, ...) of at least 8 GB of memory and $MIN_CPUS CPUs,
      $((MIN_FREE_MEMORY_MIB / 1024)) GiB of it free, and $MIN_DISK_GIB GB of free disk: the Triton image alone is ~16 GB unpacked;
    - Python 3.11 or 3.12 for .venv; kind, the Pulumi CLI, helm and kubectl are installed pinned
      into .cache/tools when missing or too old;
    - about 30 minutes the first time (mostly image pulls), a few minutes afterwards.
EOF
}

PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

# cluster.name of Pulumi.dev.yaml: the kind cluster whose containers' memory is this stack's own.
dev_cluster_name() {
  awk '/triton-platform:cluster:/ {c = 1; next} c && /^  [^ ]/ {c = 0} c && $1 == "name:" {print $2; exit}' \
    Pulumi.dev.yaml 2>/dev/null || true
}

# MiB used by the running containers that are not this stack's kind cluster (docker stats).
memory_used_by_others_mib() {
  local ids
  ids="$(docker ps --format '{{.ID}} {{.Label "io.x-k8s.kind.cluster"}}' 2>/dev/null |
    awk -v own="$(dev_cluster_name)" '$2 != own || own == "" {print $1}')"
  [ -n "$ids" ] || {
    echo 0
    return 0
  }
  # shellcheck disable=SC2086 # one argument per container id
  docker stats --no-stream --format '{{.MemUsage}}' $ids 2>/dev/null | awk '
    function mib(v,  n, u) {
      n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      if (u == "GiB" || u == "GB") return n * 1024
      if (u == "MiB" || u == "MB") return n
      if (u == "KiB" || u == "kB" || u == "KB") return n / 1024
      return n / 1048576
    }
    {total += mib($1)}
    END {printf "%d\n", total}'
}

gib() { awk -v m="$1" 'BEGIN {printf "%.1f", m / 1024}'; }

check_docker_disk() {
  local root="$1" os="$2" avail_kib
  case "$os" in
    *"Docker Desktop"*) return 0 ;; # its disk lives in a VM image: Settings > Resources shows it
  esac
  [ -d "$root" ] || return 0 # a remote daemon or a VM (colima): its disk cannot be seen from here
  avail_kib="$(df -Pk "$root" 2>/dev/null | awk 'NR == 2 {print $4}')"
  [ -n "$avail_kib" ] || return 0
  if [ "$avail_kib" -lt $((MIN_DISK_GIB * 1024 * 1024)) ]; then
    problem "docker: $(gib $((avail_kib / 1024))) GiB free on $root (Docker's storage); the dev stack needs" \
      "$MIN_DISK_GIB GB: free some (docker system prune) or move Docker's data root"
  fi
}

check_docker() {
  local info mem cpus root os mem_mib used_mib
  if ! command -v docker >/dev/null 2>&1; then
    problem "docker: not found. Install Docker Engine or Docker Desktop: https://docs.docker.com/get-docker/"
    return 0
  fi
  if ! info="$(docker info --format '{{.MemTotal}} {{.NCPU}} {{.DockerRootDir}} {{.OperatingSystem}}' 2>&1)"; then
    problem "docker: the daemon does not answer ($(printf '%s\n' "$info" | grep -v "^[0-9 ]*$" | tail -n 1)). Start Docker" \
      "(Docker Desktop, colima start, or sudo systemctl start docker) and let this user use it (the docker group)"
    return 0
  fi
  read -r mem cpus root os <<<"$info"
  case "$mem$cpus" in
    *[!0-9]* | '')
      problem "docker: docker info gave no memory/CPU figures ($info)"
      return 0
      ;;
  esac
  mem_mib=$((mem / 1048576))
  if [ "$mem_mib" -lt "$MIN_MEMORY_MIB" ]; then
    problem "docker: its VM has $(gib "$mem_mib") GiB of memory; the dev stack needs 8 GB or more" \
      "(Docker Desktop: Settings > Resources > Memory; colima: colima start --memory 8 --cpu $MIN_CPUS)"
  fi
  if [ "$cpus" -lt "$MIN_CPUS" ]; then
    problem "docker: its VM has $cpus CPUs; the dev stack needs $MIN_CPUS (Docker Desktop: Settings > Resources > CPUs)"
  fi
  used_mib="$(memory_used_by_others_mib)"
  if [ "$mem_mib" -ge "$MIN_MEMORY_MIB" ] && [ $((mem_mib - used_mib)) -lt "$MIN_FREE_MEMORY_MIB" ]; then
    problem "docker: running containers use $(gib "$used_mib") of its $(gib "$mem_mib") GiB; the dev stack needs" \
      "$(gib "$MIN_FREE_MEMORY_MIB") GiB free: stop some (docker ps; docker stop <name>)"
  fi
  check_docker_disk "$root" "$os"
}

# Everything, before anything changes; every problem at once.
preflight() {
  local out line
  check_docker
  if ! out="$(bash scripts/venv.sh --check requirements.txt 2>&1)"; then
    problem "python: $(printf '%s' "$out" | tr '\n' ' ')"
  fi
  # shellcheck disable=SC2086 # one argument per tool
  if ! out="$(bash scripts/tools.sh preflight $TOOLS 2>&1)"; then
    while IFS= read -r line; do problem "${line#  - }"; done <<<"$out"
  fi
  if [ "${#PROBLEMS[@]}" -gt 0 ]; then
    echo "" >&2
    echo "The dev stack cannot start on this machine yet (nothing was changed):" >&2
    printf '  - %s\n' "${PROBLEMS[@]}" >&2
    return 1
  fi
  echo "==> This machine has what the dev stack needs."
}

main() {
  local mode=up
  case "${1:-}" in
    --check | --tools)
      mode="${1#--}"
      shift
      ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      return 0
      ;;
  esac
  say_requirements
  preflight
  [ "$mode" != check ] || return 0

  echo "==> Tools (pinned, sha256-verified) in .cache/tools"
  # shellcheck disable=SC2086 # one argument per tool
  bash scripts/tools.sh install $TOOLS
  [ "$mode" != tools ] || return 0

  echo "==> Python environment (.venv, the virtualenv named in Pulumi.yaml)"
  bash scripts/venv.sh requirements.txt

  echo "==> Sample model (generated by code)"
  .venv/bin/python -m samples.make_samples

  echo "==> Pulumi: the dev stack on the file backend in .state/pulumi"
  # shellcheck source=scripts/env.sh
  TRITON_PLATFORM_QUIET=1 source scripts/env.sh
  # The dev stack always lives in this checkout, whatever backend the shell points at.
  export PULUMI_BACKEND_URL="$TRITON_PLATFORM_DEV_BACKEND"
  pulumi stack select --create dev
  pulumi up --stack dev --yes "$@"

  echo "==> Smoke request to Triton, compared with onnxruntime"
  .venv/bin/python -m scripts.smoke --url "$(pulumi stack output --stack dev tritonHttp)" --model sample-mlp
  echo "==> The dev stack is up. In your shell: source scripts/env.sh (then pulumi stack output --stack dev)"
}

main "$@"
