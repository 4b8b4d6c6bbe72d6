#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, lints, and runs every test.
#
# Usage: scripts/test.sh [pytest args...]      e.g. scripts/test.sh tests/unit -x
#
# Steps: Debian packages (installed when root and missing; as a normal user only checked),
# uv (pip-installed when missing), the venv (`uv sync --frozen`), scripts/lint.sh, then pytest
# over tests/ (unit, contract, integration, e2e, browser) in strict mode: a skip is a failure,
# and so is a run that collects no test. Every step's time is printed; the last line is
# "summary: N passed, N failed, N skipped".
#
# Environment (all optional):
#   KUBIDU_TEST_TIMEOUT=120          per-test timeout in seconds (a test's own mark wins)
#   KUBIDU_TEST_TOTAL_TIMEOUT=2400   whole pytest run, seconds
#   KUBIDU_TEST_STRICT=1             0 lets tests skip (never do that in CI)
#   KUBIDU_TEST_CHROMIUM=/usr/bin/chromium
#   KUBIDU_SKIP_LINT=1               skip lint (ignored when CI is set)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step_start=$SECONDS
timings=()
step() { echo; echo "==> $*"; step_start=$SECONDS; }
done_step() { timings+=("$1 $((SECONDS - step_start))s"); }
die() { echo "error: $*" >&2; echo "summary: 0 passed, 1 failed"; exit 1; }

# -- 1. Debian packages -------------------------------------------------------------------
step "system packages"
if ((EUID == 0)); then
    scripts/install-system-deps.sh || die "installing system packages failed"
else
    scripts/install-system-deps.sh --check ||
        die "system packages missing; run: sudo scripts/install-system-deps.sh"
fi
done_step "system-deps"

# Debian keeps the PostgreSQL server programs off PATH; tests may call them directly.
if ! command -v pg_ctl >/dev/null 2>&1 && [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
    export PATH="$PATH:/usr/lib/postgresql/15/bin"
fi

# -- 2. Python and uv ---------------------------------------------------------------------
step "python and uv"
find_python() {
    local candidate
    for candidate in python3.11 python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[1-9]*/bin/python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            "$candidate" -c 'import sys; print(sys.executable)' # the real path, not a shim
            return 0
        fi
    done
    return 1
}
python=$(find_python) || die "no Python >= 3.11 found (PATH, or pyenv in ${PYENV_ROOT:-$HOME/.pyenv})"
echo "python: $python ($("$python" --version 2>&1))"
if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: pip install uv"
    "$python" -m pip install --quiet --disable-pip-version-check uv || die "pip install uv failed"
    PATH="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
    export PATH
    hash -r
fi
command -v uv >/dev/null 2>&1 || die "uv still not on PATH after pip install"
echo "uv: $(command -v uv) ($(uv --version))"
done_step "uv"

# -- 3. The venv ----------------------------------------------------------------------------
step "uv sync --frozen"
export UV_PYTHON_DOWNLOADS=never # only registries are reachable; use the machine's Python
python_arg=()
[[ -x .venv/bin/python ]] || python_arg=(--python "$python") # only when creating the venv
uv sync --frozen "${python_arg[@]}" || die "uv sync --frozen failed"
done_step "uv-sync"

# -- 4. Lint ------------------------------------------------------------------------------
lint_status="ok"
if [[ "${KUBIDU_SKIP_LINT:-}" == 1 && -z "${CI:-}" ]]; then
    lint_status="skipped (KUBIDU_SKIP_LINT=1)"
else
    step "lint"
    scripts/lint.sh || lint_status="FAILED"
    done_step "lint"
fi

# -- 5. Tests -------------------------------------------------------------------------------
step "pytest"
export KUBIDU_TEST_STRICT="${KUBIDU_TEST_STRICT:-1}"
export KUBIDU_TEST_CHROMIUM="${KUBIDU_TEST_CHROMIUM:-/usr/bin/chromium}"
export PYTHONDONTWRITEBYTECODE=1
report_dir=$(mktemp -d)
trap 'rm -rf "$report_dir"' EXIT
pytest_rc=0
timeout --signal=INT --kill-after=60 "${KUBIDU_TEST_TOTAL_TIMEOUT:-2400}" \
    uv run --frozen --no-sync -- python -m pytest \
    -p no:cacheprovider \
    --timeout="${KUBIDU_TEST_TIMEOUT:-120}" \
    --continue-on-collection-errors \
    --junitxml="$report_dir/junit.xml" \
    --durations=25 \
    "$@" || pytest_rc=$?
done_step "pytest"

# -- Summary --------------------------------------------------------------------------------
counts=$(uv run --frozen --no-sync -- python - "$report_dir/junit.xml" <<'PY' || echo "0 1 0 0"
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = xfailed = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    tags = {child.tag: child for child in case}
    if "failure" in tags or "error" in tags:
        failed += 1
    elif "skipped" in tags:
        if tags["skipped"].get("type") == "pytest.xfail":
            xfailed += 1
        else:
            skipped += 1
    else:
        passed += 1
print(passed, failed, skipped, xfailed)
PY
)
read -r n_passed n_failed n_skipped n_xfailed <<<"$counts"

echo
echo "==> timings: ${timings[*]}"
echo "==> lint: $lint_status"
echo "==> expected failures (xfail): $n_xfailed"
case $pytest_rc in
0) echo "==> pytest: ok" ;;
5) echo "==> pytest: FAILED - no tests were collected (exit 5)" ;;
124 | 137) echo "==> pytest: FAILED - the whole run exceeded ${KUBIDU_TEST_TOTAL_TIMEOUT:-2400}s" ;;
*) echo "==> pytest: FAILED (exit $pytest_rc)" ;;
esac
if [[ $pytest_rc != 0 && $n_failed == 0 ]]; then
    n_failed=1 # the run failed without a failing test (no tests, crash, timeout)
fi
echo "summary: $n_passed passed, $n_failed failed, $n_skipped skipped"

[[ $pytest_rc == 0 && $lint_status != FAILED ]]
