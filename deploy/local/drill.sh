#!/usr/bin/env bash
# npm run drill: the fault drill (bench/drill.ts) on a fresh deploy/local topology, stopped
# afterwards; arguments go to bench/drill.ts (e.g. --phase-seconds 10).
set -uo pipefail
cd "$(dirname "$0")/../.."
deploy/local/down.sh --purge && deploy/local/up.sh || exit 1
node_modules/.bin/tsx bench/drill.ts "$@"
rc=$?
deploy/local/down.sh
exit $rc
