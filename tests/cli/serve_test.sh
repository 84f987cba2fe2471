#!/usr/bin/env bash
# Drives `sked serve`: bad options and addresses are refused with status 2 before anything is
# served; a server on a free loopback port answers, refuses a change by GET, and exits 0 on SIGTERM.
# Usage: serve_test.sh path/to/sked
source "$(dirname "$0")/common.sh"

db="$dir/store.sqlite3"
cron="$dir/jobs.cron"
echo 'id=far 0 0 0 1 1 * 2099 echo far' >"$cron"
"$sked" run --crontab "$cron" --db "$db" --log-level error 2>"$dir/run.err" &
daemon=$!
wait_for 20 '[[ "$("$sked" jobs --db "$db" --json 2>/dev/null | jq length)" == 1 ]]'
kill -TERM "$daemon"
wait_exit "$daemon" 20

check "a --listen without a port" 2 "" "--listen '127.0.0.1': expected HOST:PORT" -- serve --db "$db" --listen 127.0.0.1
check "a port out of range" 2 "" "--listen '127.0.0.1:70000'" -- serve --db "$db" --listen 127.0.0.1:70000
check "another address without a token" 2 "" "listening on '0.0.0.0' needs a token (--token-file)" \
  -- serve --db "$db" --listen 0.0.0.0:0
echo short >"$dir/token"
check "a token too short to be a secret" 2 "" "at least 16 characters" \
  -- serve --db "$db" --listen 127.0.0.1:0 --token-file "$dir/token"
check "a missing token file" 2 "" "--token-file '$dir/none': cannot read it" \
  -- serve --db "$db" --listen 127.0.0.1:0 --token-file "$dir/none"
check "a missing store" 2 "" "does not exist" -- serve --db "$dir/none.sqlite3" --listen 127.0.0.1:0

"$sked" serve --db "$db" --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
server=$!
wait_for 20 'grep -qs "^sked serve: http://127.0.0.1:[0-9]*/ serving" "$dir/serve.out"'
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/serve.out")"
get() { curl --noproxy '*' -s -o "$dir/body" -w '%{http_code}' "$@"; }
expect "the API lists the job" '[[ "$(get "$url/api/jobs")" == 200 ]] && [[ "$(jq -r ".[0].id" "$dir/body")" == far ]]'
expect "a GET that would pause is refused" '[[ "$(get "$url/jobs/far/pause")" == 405 ]]'
expect "and the job is not paused" '[[ "$("$sked" jobs --db "$db" --json | jq -r ".[0].state")" == scheduled ]]'
kill -TERM "$server"
wait_exit "$server" 20
expect "sked serve exits 0 after SIGTERM" '[[ $exit_status == 0 ]]'

finish
