#!/usr/bin/env bash
# adolfd on one machine.
#   ./dev.sh demo          install, start Redis/PostgreSQL if none answers, migrate, run the sandbox and every worker
#   ./dev.sh test [ARGS]   install, start Redis/PostgreSQL if none answers, ruff, mypy, pytest (ARGS go to pytest)
#   ./dev.sh adolfd ARGS   the adolfd command against the same services (e.g. ./dev.sh adolfd status)
#   ./dev.sh stop          stop the project-local Redis/PostgreSQL started by this script
# Services: ADOLFD_REDIS_URL / ADOLFD_DATABASE_URL when set and answering; else 127.0.0.1:6379 / :5432 when they
# answer; else project-local servers under ./var (ignored by git) on ports 6390 / 5440.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VAR=$ROOT/var
VENV=$ROOT/.venv
mkdir -p "$VAR"

say() { printf '\033[1m[adolfd]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

ensure_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    command -v python3 >/dev/null || apt_install python3
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
  fi
  local stamp="$VENV/.installed-$(cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    say "installing Python packages (versions from requirements.lock)"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -c requirements.lock -e ".[test,fast]"
    touch "$stamp"
  fi
}

redis_answers() { "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}
pg_answers() { "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, asyncio, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1], timeout=2)
    await conn.close()
asyncio.run(main())
PY
}

ensure_redis() {
  local url=${ADOLFD_REDIS_URL:-redis://127.0.0.1:6379/0}
  if redis_answers "$url"; then REDIS_BASE=${url%/*}; return; fi
  [ -n "${ADOLFD_REDIS_URL:-}" ] && say "ADOLFD_REDIS_URL does not answer; starting a local Redis instead"
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$VAR/redis"
  if ! redis_answers redis://127.0.0.1:6390/0; then
    say "starting project-local Redis on 127.0.0.1:6390 (data in var/redis)"
    redis-server --port 6390 --bind 127.0.0.1 --dir "$VAR/redis" --save "" --appendonly yes --appendfsync everysec \
      --daemonize yes --pidfile "$VAR/redis/redis.pid" --logfile "$VAR/redis/redis.log"
    for _ in $(seq 50); do redis_answers redis://127.0.0.1:6390/0 && break; sleep 0.1; done
  fi
  REDIS_BASE=redis://127.0.0.1:6390
}

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$found" ] || { apt_install postgresql; found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); }
  echo "$found"
}

ensure_postgres() {
  local url=${ADOLFD_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
  local admin=${url%/*}/postgres
  if pg_answers "$admin"; then PG_BASE=${url%/*}; return; fi
  [ -n "${ADOLFD_DATABASE_URL:-}" ] && say "ADOLFD_DATABASE_URL does not answer; starting a local PostgreSQL instead"
  if ! pg_answers postgresql://postgres@127.0.0.1:5440/postgres; then
    local bin data=$VAR/postgres run=()
    bin=$(pg_bin)
    if [ "$(id -u)" = 0 ]; then   # PostgreSQL refuses to run as root: run it as the postgres user
      id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
      mkdir -p "$data"; chown postgres "$data"
      if ! runuser -u postgres -- test -w "$data"; then
        data=/var/tmp/adolfd-postgres; mkdir -p "$data"; chown postgres "$data"
        say "the project folder is not reachable by the postgres user; data in $data"
      fi
      run=(runuser -u postgres --)
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      say "initialising project-local PostgreSQL in $data"
      "${run[@]}" "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
    fi
    say "starting project-local PostgreSQL on 127.0.0.1:5440"
    "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p 5440 -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off" start >/dev/null
    echo "$data" > "$VAR/postgres.path"
  fi
  PG_BASE=postgresql://postgres@127.0.0.1:5440
}

services() {
  ensure_python
  ensure_redis
  ensure_postgres
  cat > "$VAR/demo.env" <<ENV
ADOLFD_REDIS_URL=$REDIS_BASE/0
ADOLFD_DATABASE_URL=$PG_BASE/adolfd
ENV
}

case "${1:-}" in
  demo)
    services
    export ADOLFD_REDIS_URL=$REDIS_BASE/0 ADOLFD_DATABASE_URL=$PG_BASE/adolfd
    "$VENV/bin/python" - "$PG_BASE/postgres" <<'PY'
import sys, asyncio, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'adolfd'"):
        await conn.execute("CREATE DATABASE adolfd")
    await conn.close()
asyncio.run(main())
PY
    shift; exec "$VENV/bin/adolfd" demo "$@" ;;
  test)
    services
    # the fault tests start, kill and restart private redis-server processes of their own
    command -v redis-server >/dev/null || apt_install redis-server
    shift
    # lint and type check first: any finding fails the command before a test runs (config in pyproject.toml)
    "$VENV/bin/ruff" check adolfd tests bench
    "$VENV/bin/mypy"
    export ADOLFD_TEST_PG=$PG_BASE/postgres ADOLFD_TEST_REDIS=$REDIS_BASE
    exec "$VENV/bin/python" -m pytest "$@" ;;
  adolfd)
    [ -f "$VAR/demo.env" ] || services
    # ADOLFD_REDIS_URL / ADOLFD_DATABASE_URL set by the caller win over the demo's files (README)
    given_redis=${ADOLFD_REDIS_URL-} given_database=${ADOLFD_DATABASE_URL-}
    set -a; . "$VAR/demo.env"; set +a
    if [ -f "$VAR/demo.sandbox.env" ]; then set -a; . "$VAR/demo.sandbox.env"; set +a; fi
    [ -n "$given_redis" ] && export ADOLFD_REDIS_URL=$given_redis
    [ -n "$given_database" ] && export ADOLFD_DATABASE_URL=$given_database
    shift; exec "$VENV/bin/adolfd" "$@" ;;
  stop)
    [ -f "$VAR/redis/redis.pid" ] && kill "$(cat "$VAR/redis/redis.pid")" 2>/dev/null || true
    if [ -f "$VAR/postgres.path" ]; then
      data=$(cat "$VAR/postgres.path"); bin=$(pg_bin)
      if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$data" stop -m fast || true
      else "$bin/pg_ctl" -D "$data" stop -m fast || true; fi
    fi ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
