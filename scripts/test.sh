#!/usr/bin/env bash
# Run the whole test suite: against SQLite, and against a throwaway PostgreSQL 15
# cluster started here and stopped afterwards (whatever happens).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/.venv/bin/python"
pgdir=$(mktemp -d /tmp/exoneb-pg.XXXXXX)
cleanup() { "$here/scripts/postgres.sh" stop "$pgdir" || true; }
trap cleanup EXIT
EXONEB_TEST_POSTGRES_URL=$("$here/scripts/postgres.sh" start "$pgdir")
export EXONEB_TEST_POSTGRES_URL
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
cd "$here"
# One worker per core (EXONEB_TEST_WORKERS=0 runs in-process, e.g. for a debugger).
# Whole files go to one worker, so module-scoped fixtures are built once.
workers=${EXONEB_TEST_WORKERS:-auto}
"$py" -m pytest -p no:cacheprovider -q -n "$workers" --dist loadfile "$@"
