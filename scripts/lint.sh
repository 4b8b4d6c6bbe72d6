#!/usr/bin/env bash
# Static checks, all of which must pass: ruff lint, ruff format, mypy (strict, src/) and the
# import-linter contracts of pyproject.toml (the layering of ARCHITECTURE.md §2).
#
# Usage: scripts/lint.sh        (needs uv; run `uv sync --frozen` first, or scripts/test.sh)
# Every check runs even when an earlier one fails, so one run shows every problem.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
    echo "error: uv not found (pip install uv, or run scripts/test.sh which installs it)" >&2
    exit 1
fi

failed=()
check() {
    local name=$1
    shift
    local start=$SECONDS
    echo "--> lint: $name"
    if uv run --frozen --quiet -- "$@"; then
        echo "    ok ($((SECONDS - start))s)"
    else
        echo "    FAILED: $name ($((SECONDS - start))s)"
        failed+=("$name")
    fi
}

check "ruff check" ruff check .
check "ruff format" ruff format --check .
check "mypy" mypy
check "import-linter" lint-imports --no-cache

if ((${#failed[@]})); then
    echo "lint: FAILED (${failed[*]})"
    exit 1
fi
echo "lint: ok"
