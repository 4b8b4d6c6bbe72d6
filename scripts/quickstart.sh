#!/usr/bin/env bash
# Quick start: install Kubidu into .venv, run `kubidu server` on its embedded defaults
# (SQLite, process runtime, Caddy on :8080, API and dashboard on 127.0.0.1:8420), deploy
# examples/python-app, print its URL and the dashboard login, then keep serving until Ctrl-C.
#
# Environment: KUBIDU_DATA_DIR, KUBIDU_LISTEN, KUBIDU_HTTP_PORT... as for `kubidu server`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export UV_PYTHON_DOWNLOADS=never
uv sync --frozen --no-dev --inexact --quiet  # --inexact: keep dev tools already there
kubidu=$PWD/.venv/bin/kubidu

if ((EUID == 0)); then default_data=/var/lib/kubidu; else default_data=$HOME/.local/share/kubidu; fi
export KUBIDU_DATA_DIR=${KUBIDU_DATA_DIR:-$default_data}
export KUBIDU_LISTEN=${KUBIDU_LISTEN:-127.0.0.1:8420}
url="http://$KUBIDU_LISTEN"

"$kubidu" server &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 120); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || { echo "kubidu server exited" >&2; exit 1; }
    sleep 0.5
done

"$kubidu" login --url "$url" --token "$(cat "$KUBIDU_DATA_DIR/admin-token")"
example=$(mktemp -d)
cp -r examples/python-app/. "$example"
(cd "$example" && "$kubidu" init --project hello --service web && "$kubidu" deploy)

app_url=$(cd "$example" && "$kubidu" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
cat <<MSG

Kubidu is running (data in $KUBIDU_DATA_DIR).
  Example app:  $app_url      (try: curl $app_url)
  Dashboard:    $url/   e-mail admin@kubidu.local, password in $KUBIDU_DATA_DIR/admin-password
  API docs:     $url/api/v1/docs
  CLI:          $kubidu --help   (already logged in)
Press Ctrl-C to stop the control plane; deployed apps and the edge keep serving.
MSG
wait $server
