# shellcheck shell=bash
# The dev stack's Pulumi settings for your shell. Source it from the repository (bash or zsh):
#
#   source scripts/env.sh        # then: pulumi stack ls, pulumi stack output --stack dev, ...
#
# - PULUMI_BACKEND_URL: the file backend in this checkout (.state/pulumi), where `make dev` keeps
#   the dev stack's state (no Pulumi account). A PULUMI_BACKEND_URL you set yourself is kept (the
#   cloud stacks may live in Pulumi Cloud or a bucket). On the file backend the organization is
#   `organization`: a fully qualified stack name is organization/triton-platform/<stack>.
# - PULUMI_CONFIG_PASSPHRASE: the passphrase that encrypts the dev stack's secrets in that state
#   (S3 keys, Grafana password). Empty unless you set one before the first `make dev`; it must
#   stay the same afterwards.
# - PATH: .cache/tools first, where scripts/tools.sh installs the pinned kind, pulumi, helm, kubectl.
#
# The Makefile and scripts/dev-up.sh source it too, so the shell and they see the same stack.

if [ -n "${BASH_VERSION:-}" ] && [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "scripts/env.sh sets variables for your shell: source it (source scripts/env.sh), do not run it" >&2
  exit 2
fi

if [ -n "${BASH_VERSION:-}" ]; then
  _tp_env_file="${BASH_SOURCE[0]}"
elif [ -n "${ZSH_VERSION:-}" ]; then
  # zsh: the file being sourced (bash would not parse this expansion, hence the eval).
  eval '_tp_env_file="${(%):-%x}"'
else
  _tp_env_file="scripts/env.sh"
fi
_tp_root="$(cd "$(dirname "$_tp_env_file")/.." && pwd)"

export TRITON_PLATFORM_ROOT="$_tp_root"
export TRITON_PLATFORM_DEV_BACKEND="file://$_tp_root/.state/pulumi"
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  export PULUMI_BACKEND_URL="$TRITON_PLATFORM_DEV_BACKEND"
elif [ "$PULUMI_BACKEND_URL" != "$TRITON_PLATFORM_DEV_BACKEND" ] && [ -z "${TRITON_PLATFORM_QUIET:-}" ]; then
  echo "scripts/env.sh: keeping your PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL (the dev stack's state is" \
    "$TRITON_PLATFORM_DEV_BACKEND)" >&2
fi
# The file backend's directory must exist before the first `pulumi login`/`stack init`.
mkdir -p "$_tp_root/.state/pulumi"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
case ":$PATH:" in
  *":$_tp_root/.cache/tools:"*) ;;
  *) export PATH="$_tp_root/.cache/tools:$PATH" ;;
esac
unset _tp_env_file _tp_root
