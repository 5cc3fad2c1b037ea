#!/bin/sh
# precheck hook shim: runs the checks of this hook (see checks.toml).
# Written by `precheck install`; `precheck uninstall` removes it and puts back
# any hook that was here before (kept meanwhile as HOOK.legacy).
# precheck-shim-version: 2
hook=__HOOK__
precheck=__PRECHECK__
# The checks.toml given to `precheck install --config` (empty: the default).
config=__CONFIG__
# Where this shim lives, so precheck finds HOOK.legacy without asking git.
PRECHECK_HOOKS_DIR=${0%/*}
export PRECHECK_HOOKS_DIR
if [ -n "$config" ]; then
  set -- --config "$config" hook "$hook" "$@"
else
  set -- hook "$hook" "$@"
fi
if [ -x "$precheck" ]; then
  exec "$precheck" "$@"
fi
if command -v precheck >/dev/null 2>&1; then
  exec precheck "$@"
fi
echo "precheck: cannot run the $hook checks: precheck is neither at $precheck nor on PATH." >&2
echo "precheck: reinstall it and run \`precheck install\`, or skip the checks once with \`git commit --no-verify\`." >&2
exit 1
