#!/usr/bin/env bash
# The suite runs on real PostgreSQL and Redis. Start them if they are installed but stopped; otherwise say what to install.
set -uo pipefail
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
PG_CTLCLUSTER=${PG_CTLCLUSTER:-pg_ctlcluster}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

postgres_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { (exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
SERVICE_WAIT_SECONDS=${SERVICE_WAIT_SECONDS:-15}
wait_for() { for _ in $(seq 1 $((SERVICE_WAIT_SECONDS * 2))); do "$1" && return 0; sleep 0.5; done; return 1; }

if ! postgres_up; then
    if command -v "$PG_CTLCLUSTER" >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
        echo "PostgreSQL is stopped; starting it"
        "$PG_CTLCLUSTER" --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    fi
    if ! wait_for postgres_up; then
        echo "ERROR: PostgreSQL is not answering on $PG_HOST:$PG_PORT and could not be started." >&2
        echo "Install it (Debian/Ubuntu: apt-get install postgresql) with trust auth for 127.0.0.1 and a database 'test'." >&2
        exit 1
    fi
fi

if ! redis_up; then
    if command -v "$REDIS_SERVER" >/dev/null 2>&1; then
        echo "Redis is stopped; starting it"
        mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
        "$REDIS_SERVER" --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    fi
    if ! wait_for redis_up; then
        echo "ERROR: Redis is not answering on $REDIS_HOST:$REDIS_PORT and could not be started." >&2
        echo "Install it (Debian/Ubuntu: apt-get install redis-server)." >&2
        exit 1
    fi
fi
echo "PostgreSQL $PG_HOST:$PG_PORT and Redis $REDIS_HOST:$REDIS_PORT are up"
