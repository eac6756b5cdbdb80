#!/usr/bin/env bash
# Runs the web server, one Celery worker and beat in the foreground; Ctrl-C (or any of them dying) stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
mkdir -p var
# The demo's couriers have made-up group-robot addresses: record their messages instead of calling the network.
export GROUP_ROBOT_TRANSPORT=${GROUP_ROBOT_TRANSPORT:-logistics.robots.RecordingRobotTransport}
# Kuaidi100 intercept orders go to the local simulator started below, and its callbacks come back here.
K100_PORT=${K100_PORT:-$((PORT + 766))}
export KUAIDI100_INTERCEPT_URL=${KUAIDI100_INTERCEPT_URL:-http://127.0.0.1:$K100_PORT/label/order}
export KUAIDI100_CALLBACK_BASE_URL=${KUAIDI100_CALLBACK_BASE_URL:-http://$HOST:$PORT}

pids=()
helpers=()  # stopped with the others, but their own end (the demo buyers ran out of orders) stops nothing
stop_all() {
    trap - INT TERM EXIT
    echo "stopping web server, worker and beat..."
    kill -TERM "${pids[@]}" "${helpers[@]}" 2>/dev/null || true
    wait "${pids[@]}" "${helpers[@]}" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

"$PY" -m celery -A config worker --loglevel=INFO --concurrency=2 --hostname="worker@%h" &
pids+=($!)
"$PY" -m celery -A config beat --loglevel=INFO --pidfile=var/celerybeat.pid &
pids+=($!)
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
# The marketplaces' local simulator (Taobao/Tmall, Douyin, Pinduoduo, JD, WeChat shop): the demo shops connect to it, buyers ask for refunds there
# and its pushes come to this desk. Nothing reaches the internet.
# Its port follows the desk's (8000 → 8765), so two runs side by side do not collide; neither it nor the demo buyers
# stop the desk if they end.
SIM_PORT=${SIM_PORT:-$((PORT + 765))}
"$PY" -m marketplaces.simulator --port "$SIM_PORT" &
helpers+=($!)
# Kuaidi100's intercept API, locally: an agreement set to the Kuaidi100 channel with the demo key below gets its
# intercepts confirmed a minute later (docs/tracking-webhooks.md).
"$PY" -m logistics.kuaidi100_simulator --port "$K100_PORT" --account demo-kuaidi100:demo-kuaidi100-secret &
helpers+=($!)
"$PY" manage.py marketplace_demo --simulator "http://127.0.0.1:$SIM_PORT" --desk "http://$HOST:$PORT" &
helpers+=($!)
# Pinduoduo pushes over PMC, a WebSocket the desk opens: one per app of the enabled Pinduoduo connections, looked for
# every 30 s (idle while there is none).
"$PY" manage.py marketplace_pmc &
helpers+=($!)

echo "After-sales Desk: http://$HOST:$PORT/admin/   health: http://$HOST:$PORT/healthz   (Ctrl-C stops everything)"
echo "Marketplace simulator: http://127.0.0.1:$SIM_PORT (connections: /admin/marketplaces/shopconnection/)"
# Whichever process ends first (Ctrl-C, a crash) ends the others through the EXIT trap.
wait -n "${pids[@]}"
