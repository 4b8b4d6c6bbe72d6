#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only those that are missing.
#
# Usage: scripts/install-system-deps.sh [--check]
#   --check   only report what is missing (exit 1 if anything is); never installs.
#
# As root (CI, a fresh Debian 12 machine) missing packages are installed with apt-get
# (one `apt-get update`, one `apt-get install`). As a normal user nothing is installed: the
# script lists what is missing and how to install it, and fails. A missing dependency is
# always a failure here, never a skip. To add a dependency, add one `need` line below.
set -euo pipefail

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

missing_pkgs=()
missing_what=()

# need PACKAGE DESCRIPTION TEST-COMMAND...: PACKAGE is missing when TEST-COMMAND fails.
need() {
    local pkg=$1 what=$2
    shift 2
    if ! "$@" >/dev/null 2>&1; then
        missing_pkgs+=("$pkg")
        missing_what+=("$what")
    fi
}

have() { command -v "$1"; }

# PostgreSQL server binaries: on PATH (e.g. /usr/local/bin) or where Debian puts them.
have_pg() {
    { have initdb && have pg_ctl && have postgres; } ||
        [[ -x /usr/lib/postgresql/15/bin/initdb && -x /usr/lib/postgresql/15/bin/pg_ctl ]]
}

# dockerd may live in /usr/sbin, off a normal user's PATH.
have_dockerd() { have dockerd || [[ -x /usr/sbin/dockerd ]]; }

have_chromium() {
    local path=${KUBIDU_TEST_CHROMIUM:-/usr/bin/chromium}
    [[ -x "$path" ]]
}

check_all() {
    missing_pkgs=()
    missing_what=()
    need chromium      "chromium (browser tests)"        have_chromium
    need fonts-liberation "fonts for chromium screenshots" test -d /usr/share/fonts/truetype/liberation
    need postgresql-15 "PostgreSQL 15 (initdb, pg_ctl)"  have_pg
    need git           "git"                             have git
    need curl          "curl"                            have curl
    need nodejs        "node"                            have node
    need npm           "npm"                             have npm
    need util-linux    "runuser/setpriv"                 have runuser
    need passwd        "useradd"                         have useradd
    need ca-certificates "CA certificates"               test -f /etc/ssl/certs/ca-certificates.crt
    need docker.io     "Docker Engine (dockerd)"         have_dockerd
    need busybox-static "static busybox (local base images)" dpkg -s busybox-static
    need python3       "system python3 (local Python base image)" test -x /usr/bin/python3
    need python3-venv  "venv + ensurepip for Python apps' virtualenvs" /usr/bin/python3 -c "import ensurepip"
    need pebble        "pebble + pebble-challtestsrv (ACME/DNS tests)" have pebble-challtestsrv
}

check_all
if ((${#missing_pkgs[@]} == 0)); then
    echo "system deps: all present"
    exit 0
fi

echo "system deps missing: ${missing_what[*]}"
if ((check_only)) || ((EUID != 0)); then
    echo "error: missing system packages: ${missing_pkgs[*]}" >&2
    echo "install them with: sudo $0   (or: sudo apt-get install ${missing_pkgs[*]})" >&2
    exit 1
fi

# Deduplicate (two checks may name one package).
mapfile -t pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
export DEBIAN_FRONTEND=noninteractive
start=$SECONDS
echo "==> apt-get update"
apt-get update -qq
echo "==> apt-get install ${pkgs[*]}"
apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${pkgs[@]}" >/dev/null
echo "system deps: installed ${pkgs[*]} in $((SECONDS - start))s"

check_all
if ((${#missing_pkgs[@]} != 0)); then
    echo "error: still missing after apt-get install: ${missing_what[*]}" >&2
    exit 1
fi
echo "system deps: all present"
