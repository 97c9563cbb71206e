#!/bin/sh
# Deployctl-DeployApplication: runs on each host (as root, by SSM Run Command;
# under /bin/sh in a sandbox folder on the local fleet). The document's
# parameters arrive as environment variables (SSM_app, SSM_version, ...), never
# spliced into this text, and were checked against allowedPattern. They are
# only ever expanded inside double quotes, and never evaluated.
set -eu
if [ -z "${SSM_version+x}" ]; then echo "SSM Agent 3.3.2746.0 or later is needed (parameters as environment variables)" >&2; exit 2; fi
# Checked again here, where they become paths: the local fleet has no allowedPattern.
case "$SSM_app" in
  '' | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) echo "refused: app is not letters, digits, . _ -" >&2; exit 2 ;;
esac
case "$SSM_action" in
  deploy | rollback) ;;
  *) echo "refused: action is neither deploy nor rollback" >&2; exit 2 ;;
esac
dir="${DEPLOYCTL_ROOT:-}/opt/deployctl/${SSM_app}"
mkdir -p "$dir/hooks"
hook="$dir/hooks/${SSM_action}"
if [ -x "$hook" ]; then
  "$hook" "$SSM_version"
fi
printf '%s\n' "$SSM_version" > "$dir/current.tmp"
mv "$dir/current.tmp" "$dir/current"
printf '%s %s %s on %s: done\n' "$SSM_action" "$SSM_app" "$SSM_version" "$SSM_environment"
