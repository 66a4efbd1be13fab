#!/usr/bin/env bash
# Relayflow's one test command:   bash scripts/test.sh [pytest args...]
#
# Idempotent. It installs what the tests need when it is missing, then runs
# pytest on 2 workers (pytest-xdist), passing any arguments through:
#   1. Debian packages: postgresql (server binaries), chromium, fonts-noto-cjk, and pango
#      (libpango-1.0-0, libpangoft2-1.0-0: WeasyPrint's text layout, for PDFs)
#      (apt-get only when something is missing; needs root or password-less sudo)
#   2. Python packages: the project with its `test` extra, plus playwright
#      (its browser is Debian's chromium: no `playwright install`, no download)
#   3. gates on a whole run (no arguments): ruff, mypy --strict (engine/, forms/), the example flows'
#      own tests (`relayflow test flows examples examples/order_desk`, docs/flow-tests.md)
#   4. python3 -m pytest -n 2 "$@"
#
# Examples:
#   bash scripts/test.sh                          # everything (what CI runs)
#   bash scripts/test.sh tests/forms -x -k date   # a subset
#   bash scripts/test.sh -m "not postgres"        # SQLite only
#
# Exit status: pytest's, except that "no tests collected" (5) is a failure too.
# Environment: RELAYFLOW_TEST_PG_URL (use an existing PostgreSQL server),
#   RELAYFLOW_SKIP_INSTALL=1 (skip steps 1 and 2), CI=true (missing
#   dependencies are errors, not skips).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
is_ci() { case "${CI:-}" in "" | 0 | false | False | FALSE | no) return 1 ;; *) return 0 ;; esac; }
step() { printf '\n==> %s\n' "$*"; }

# --- 1. Debian packages -----------------------------------------------------
have_pg_server() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && return 0
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_debian_packages() {
    local missing=() apt_log="${TMPDIR:-/tmp}/relayflow-apt.log"
    have_pg_server || missing+=(postgresql)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    have_deb fonts-noto-cjk || missing+=(fonts-noto-cjk)
    have_deb libpango-1.0-0 || missing+=(libpango-1.0-0)
    have_deb libpangoft2-1.0-0 || missing+=(libpangoft2-1.0-0)
    if ((${#missing[@]} == 0)); then
        echo "Debian packages: all present (PostgreSQL server, chromium, fonts-noto-cjk, pango)"
        return 0
    fi

    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "WARNING: missing Debian packages: ${missing[*]}; not root, cannot install them." >&2
            echo "         Install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
            if is_ci; then exit 1; fi
            echo "         Tests that need them will be skipped." >&2
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "WARNING: missing ${missing[*]} and no apt-get on this machine." >&2
        if is_ci; then exit 1; fi
        return 0
    fi

    step "Installing Debian packages: ${missing[*]} (log: $apt_log)"
    local t0=$SECONDS
    if ! { "${sudo[@]}" apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}"; } \
        >"$apt_log" 2>&1 </dev/null; then
        tail -n 40 "$apt_log" >&2
        echo "ERROR: apt-get failed (full log: $apt_log)" >&2
        exit 1
    fi
    echo "installed in $((SECONDS - t0))s"
    have_pg_server || { echo "ERROR: PostgreSQL server binaries still missing after install" >&2; exit 1; }
}

# --- 2. Python packages -----------------------------------------------------
install_python_packages() {
    step "Installing Python packages: -e .[test] playwright"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off PIP_ROOT_USER_ACTION=ignore
    "$PYTHON" -m pip install -q -e '.[test]' playwright
}

if [[ "${RELAYFLOW_SKIP_INSTALL:-}" == 1 ]]; then
    echo "RELAYFLOW_SKIP_INSTALL=1: not installing anything"
else
    install_debian_packages
    install_python_packages
fi

# Playwright must never download a browser: it uses Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ -z "${RELAYFLOW_CHROMIUM:-}" ]] && command -v chromium >/dev/null 2>&1; then
    RELAYFLOW_CHROMIUM="$(command -v chromium)"
    export RELAYFLOW_CHROMIUM
fi

# --- 3. gates (whole runs only: no pytest arguments, or RELAYFLOW_GATES=1) -----
# ruff (lint) and mypy --strict on engine/ and forms/; the import-linter contracts are a test
# (tests/test_architecture.py), so they run on every pytest run.
if [[ $# -eq 0 || "${RELAYFLOW_GATES:-}" == 1 ]]; then
    step "Gates: ruff, mypy"
    "$PYTHON" -m ruff check . || { echo "ERROR: ruff found problems (ruff check . --fix fixes some)" >&2; exit 1; }
    "$PYTHON" -m mypy || { echo "ERROR: mypy found type errors" >&2; exit 1; }
    step "Gate: the example flows' own tests (relayflow test)"
    "$PYTHON" -m cli test --quiet flows examples examples/order_desk || { echo "ERROR: a flow's own test failed" >&2; exit 1; }
fi

# --- 4. pytest --------------------------------------------------------------
step "$PYTHON -m pytest -n 2 $*"
set +e
"$PYTHON" -m pytest -n 2 "$@"
rc=$?
set -e

case $rc in
    0) ;;
    5) echo "ERROR: pytest collected no tests (exit 5); counting that as a failure." >&2; rc=1 ;;
    *) echo "pytest failed (exit $rc)." >&2 ;;
esac
exit "$rc"
