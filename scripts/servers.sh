#!/usr/bin/env bash
# Start or stop a throwaway MariaDB and Redis on 127.0.0.1 for reconsim's backend tests
# (issue 6). Data lives in a temp directory; nothing is installed as a service.
#
#   scripts/servers.sh start [DIR]   # prints the two URLs as `export` lines
#   scripts/servers.sh stop  [DIR]
#
# Ports: RECONSIM_MARIADB_PORT (default 3306), RECONSIM_REDIS_PORT (default 6379).
# The MariaDB user is reconsim/reconsim with every privilege on reconsim_* databases, and
# reconsim_ro/reconsim with SELECT only; TLS is on with a throwaway CA whose certificate's path
# is exported as RECONSIM_TEST_MYSQL_CA.
# Installs mariadb-server and redis-server from Debian's packages when they are missing.
set -euo pipefail
cmd=${1:-start}
dir=${2:-${TMPDIR:-/tmp}/reconsim-servers}
myport=${RECONSIM_MARIADB_PORT:-3306}
rport=${RECONSIM_REDIS_PORT:-6379}

install_missing() {
  local pkgs=()
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || pkgs+=(mariadb-server mariadb-client)
  command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
  if [ ${#pkgs[@]} -gt 0 ]; then
    echo "servers.sh: installing ${pkgs[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
}

wait_for() { # wait_for SECONDS CMD...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

case "$cmd" in
start)
  install_missing
  mkdir -p "$dir"
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  if [ ! -d "$dir/mariadb/mysql" ]; then
    mariadb-install-db --user="$(id -un)" --datadir="$dir/mariadb" --auth-root-authentication-method=socket >"$dir/install-db.log" 2>&1
  fi
  # TLS with a throwaway CA and a server certificate for 127.0.0.1 (the ssl-mode tests).
  if [ ! -f "$dir/server.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=reconsim-test-ca \
      -keyout "$dir/ca-key.pem" -out "$dir/cert.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
      -keyout "$dir/key.pem" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/cert.pem" -CAkey "$dir/ca-key.pem" \
      -CAcreateserial -days 7 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
  fi
  "$mariadbd" --no-defaults --user="$(id -un)" --datadir="$dir/mariadb" --bind-address=127.0.0.1 \
    --port="$myport" --socket="$dir/mariadb.sock" --pid-file="$dir/mariadb.pid" \
    --ssl-cert="$dir/server.pem" --ssl-key="$dir/key.pem" --ssl-ca="$dir/cert.pem" \
    --innodb-buffer-pool-size=2G --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
    --max-allowed-packet=256M --local-infile=1 >"$dir/mariadb.log" 2>&1 &
  redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --daemonize yes --logfile "$dir/redis.log"
  wait_for 60 mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e 'SELECT 1' || {
    echo "servers.sh: MariaDB did not start; see $dir/mariadb.log" >&2; tail -5 "$dir/mariadb.log" >&2; exit 2; }
  mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'reconsim'@'127.0.0.1' IDENTIFIED BY 'reconsim';
    CREATE USER IF NOT EXISTS 'reconsim'@'localhost' IDENTIFIED BY 'reconsim';
    GRANT ALL PRIVILEGES ON \`reconsim%\`.* TO 'reconsim'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON \`reconsim%\`.* TO 'reconsim'@'localhost';
    CREATE USER IF NOT EXISTS 'reconsim_ro'@'127.0.0.1' IDENTIFIED BY 'reconsim';
    GRANT SELECT ON \`reconsim%\`.* TO 'reconsim_ro'@'127.0.0.1';
    CREATE DATABASE IF NOT EXISTS reconsim;"
  wait_for 20 redis-cli -p "$rport" ping || { echo "servers.sh: Redis did not start" >&2; exit 2; }
  echo "export RECONSIM_TEST_MYSQL=mysql://reconsim:reconsim@127.0.0.1:$myport/reconsim"
  echo "export RECONSIM_TEST_REDIS=redis://127.0.0.1:$rport"
  echo "export RECONSIM_TEST_MYSQL_CA=$dir/cert.pem"
  ;;
stop)
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  if [ -f "$dir/mariadb.pid" ]; then
    pid=$(cat "$dir/mariadb.pid"); kill "$pid" 2>/dev/null || true
    wait_for 30 sh -c "! kill -0 $pid" || true
  fi
  ;;
*)
  echo "usage: scripts/servers.sh start|stop [DIR]" >&2; exit 2 ;;
esac
