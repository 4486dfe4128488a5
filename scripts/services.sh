#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up (sourced by scripts/test.sh).
# Under CI=true a service that is down is started, and one that cannot be started fails the run;
# elsewhere the tests that need it skip with a clear reason.

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 1
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || return 1
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

start_redis() {
  command -v redis-server >/dev/null || return 1
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || return 1
  as_root rabbitmq-server -detached
}

wait_for() {
  local check=$1 i
  for i in $(seq 1 30); do "$check" && return 0; sleep 1; done
  return 1
}

ensure_service() {
  local name=$1 check=$2 start=$3
  "$check" && return 0
  if [ "${CI:-}" = "true" ]; then
    echo "Starting $name for the test suite..." >&2
    "$start" >/dev/null 2>&1 || true
    wait_for "$check" || { echo "CI: $name is down and could not be started." >&2; exit 1; }
  else
    echo "$name is not running on 127.0.0.1: the tests that need it will be skipped." >&2
  fi
}

ensure_service PostgreSQL pg_up start_postgres
ensure_service Redis redis_up start_redis
ensure_service RabbitMQ rabbitmq_up start_rabbitmq
