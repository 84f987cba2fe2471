#!/usr/bin/env bash
# The PostgreSQL server that the test processes of one ctest run share (ctest fixture `postgres`;
# tests/support/postgres_server.hpp attaches to it through SKED_TEST_PG_DIR, one database per
# process). Unix socket only, in DIR; as root the server runs as the `postgres` user.
#   postgres_fixture.sh start DIR BINDIR   initdb and start; stopped by `stop`, or once ctest is gone
#   postgres_fixture.sh stop DIR BINDIR
set -euo pipefail
action=$1 dir=$2 bindir=$3
as_postgres=()
[[ $(id -u) != 0 ]] || as_postgres=(runuser -u postgres --)

stop() {
  if [[ -d $dir/data ]]; then
    "${as_postgres[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 9>&- || true
  fi
  rm -rf "$dir"
}

# Start, stop and a watcher of an earlier run take turns: without this, the watcher of a ctest run
# that just ended could stop the server the next run was starting in the same directory. The
# server's processes must not inherit the lock (9>&-).
exec 9>"$dir.lock"
flock 9

case $action in
  start)
    stop  # a server left by a ctest run that was killed
    mkdir -p "$dir"
    [[ $(id -u) != 0 ]] || chown postgres "$dir"
    "${as_postgres[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1 9>&- || { cat "$dir/initdb.log" >&2; exit 1; }
    # As the tests' own servers: no fsync, no full-page writes (a commit costs no disk flush).
    "${as_postgres[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c fsync=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null 9>&- || { cat "$dir/server.log" >&2; exit 1; }
    # ctest runs this script; if ctest itself is killed before the cleanup test, the server goes
    # with it.
    ctest_pid=$PPID
    echo "$ctest_pid" >"$dir/ctest.pid"
    (
      exec 9>&-
      while kill -0 "$ctest_pid" 2>/dev/null; do sleep 1; done
      # Only the server of this run: a later run may have started its own here meanwhile.
      exec 9>"$dir.lock"
      flock 9
      [[ "$(cat "$dir/ctest.pid" 2>/dev/null)" != "$ctest_pid" ]] || stop
    ) >/dev/null 2>&1 </dev/null &
    disown
    ;;
  stop) stop ;;
  *) echo "usage: postgres_fixture.sh start|stop DIR BINDIR" >&2; exit 2 ;;
esac
