#!/usr/bin/env bash
# Drives the real `sked` binary against a PostgreSQL database: under ctest a database of its own on
# the run's shared server (SKED_TEST_PG_DIR), else a throwaway server on a Unix socket in the scratch
# directory; two `sked run` daemons sharing it (each fire time runs once), run-now through
# them, the store commands, `sked serve` beside them, and no password in any message. Waits by polling with deadlines.
# Usage: postgres_test.sh path/to/sked POSTGRESQL_BINDIR
source "$(dirname "$0")/common.sh"
bindir="$2"

psql_in() { local db=$1; shift; "$bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$sock" -U postgres -d "$db" -c "$1"; }
if [[ -n "${SKED_TEST_PG_DIR:-}" ]]; then
  # Under ctest: the run's shared server (fixture `postgres`), in a database of this test's own.
  sock="$SKED_TEST_PG_DIR"
  dbname="cli_$$"
  psql_in postgres "CREATE DATABASE $dbname" || exit 1
  # Daemons a failed check left running go first: the server outlives this test.
  trap 'kill -KILL $(jobs -p) 2>/dev/null; psql_in postgres "DROP DATABASE IF EXISTS $dbname WITH (FORCE)"
        rm -rf "$dir"' EXIT
else
  sock="$dir"
  dbname=postgres
  as_postgres=()
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres "$dir"
    as_postgres=(runuser -u postgres --)
  fi
  "${as_postgres[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; exit 1; }
  pg_ctl() { "${as_postgres[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" >/dev/null; }
  pg_ctl -o "-c listen_addresses='' -k $dir -c fsync=off" start || { cat "$dir/server.log"; exit 1; }
  trap 'pg_ctl -m immediate stop; rm -rf "$dir"' EXIT
fi
psql() { psql_in "$dbname" "$1"; }

url="postgresql://postgres@$(sed 's#/#%2F#g' <<<"$sock")/$dbname"
secret_url="postgresql://postgres:hunter2@$(sed 's#/#%2F#g' <<<"$sock")/$dbname"
cron="$dir/jobs.cron"

check "a database without a sked schema is refused" 2 "" "holds no sked store" -- jobs --db "$url"

cat >"$cron" <<CRON
id=tick  * * * * * *   echo "\$SKED_JOB_ID \$SKED_RUN_TIME"
id=hello @yearly       echo hello-from-run-now
CRON
"$sked" run --crontab "$cron" --db "$url" 2>"$dir/a.err" &
a=$!
wait_for 20 '[[ "$("$sked" jobs --db "$url" --json 2>/dev/null | jq length)" == 2 ]]'
"$sked" run --crontab "$cron" --db "host=$sock user=postgres dbname=$dbname" 2>"$dir/b.err" &
b=$!

executed() { psql "SELECT count(*) FROM sked.sked_job_execution WHERE job_id = 'tick' AND status = 'executed'"; }
wait_for 20 '(( $(executed) >= 4 ))'
wait_for 20 '[[ "$(psql "SELECT count(*) FROM sked.sked_scheduler")" == 2 ]]'

check "run-now through the running daemons prints the record" 0 "*" "" -- run-now hello --db "$url" --json --timeout 20
expect "run-now: executed once, with the command's output" \
  '[[ "$(jq -r "[.status, .job_id, (.traceback | contains(\"hello-from-run-now\"))] | @tsv" <<<"$out")" == $'"'"'executed\thello\ttrue'"'"' ]]'
check "jobs: both jobs, scheduled" 0 "*" "" -- jobs --db "$url" --json
expect "jobs --json lists tick and hello" '[[ "$(jq -c "map(.id) | sort" <<<"$out")" == "[\"hello\",\"tick\"]" ]]'
check "pause reaches the store" 0 "*" "" -- pause tick --db "$url"
check "show: paused" 0 "*" "" -- show tick --db "$url" --json
expect "show --json: state paused" '[[ "$(jq -r .state <<<"$out")" == paused ]]'
check "resume" 0 "*" "" -- resume tick --db "$url"

# sked serve on the same database, beside both daemons: the API and pages, a change, the metrics.
"$sked" serve --db "$secret_url" --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
server=$!
wait_for 20 'grep -qs "^sked serve: http://127.0.0.1:[0-9]*/ serving" "$dir/serve.out"'
expect "serve names the database without the password" \
  '[[ "$(cat "$dir/serve.out" "$dir/serve.err")" != *hunter2* && "$(cat "$dir/serve.out")" == *"schema sked"* ]]'
base="$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/serve.out")"
get() { curl --noproxy '*' -s -o "$dir/body" -w '%{http_code}' "$@"; }
expect "serve: the API lists both jobs" \
  '[[ "$(get "$base/api/jobs")" == 200 && "$(jq -c "map(.id) | sort" "$dir/body")" == "[\"hello\",\"tick\"]" ]]'
expect "serve: the jobs page shows them" '[[ "$(get "$base/")" == 200 ]] && grep -q "data-job=\"tick\"" "$dir/body"'
# Pages of the history before a fixed time (tick adds a record every second).
expect "serve: executions page by page, newest first" \
  '[[ "$(get "$base/api/executions?job=tick&size=1")" == 200 ]] && until="$(jq -r ".[0].run_time" "$dir/body")" &&
   [[ "$(get "$base/api/executions?job=tick&size=2&until=$until")" == 200 && "$(jq length "$dir/body")" == 2 ]] &&
   first="$(jq -r ".[1].run_time" "$dir/body")" && [[ "$(jq -r ".[0].run_time" "$dir/body")" < "$until" ]] &&
   [[ "$(get "$base/api/executions?job=tick&size=2&page=2&until=$until")" == 200 && "$(jq -r ".[0].run_time" "$dir/body")" < "$first" ]]'
expect "serve: both daemons are listed alive" \
  '[[ "$(get "$base/api/schedulers")" == 200 && "$(jq "map(select(.alive)) | length" "$dir/body")" == 2 ]]'
expect "serve: the schedulers page" '[[ "$(get "$base/schedulers")" == 200 ]] && grep -q "s-alive" "$dir/body"'
csrf="$(curl --noproxy '*' -s "$base/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | cut -d'"' -f4)"
expect "serve: pause through the API" '[[ "$(get -X POST -H "X-CSRF-Token: $csrf" -d "" "$base/api/jobs/tick/pause")" == 200 ]]'
expect "serve: the job is paused in the database" '[[ "$("$sked" show tick --db "$url" --json | jq -r .state)" == paused ]]'
expect "serve: the job list shows it paused" \
  '[[ "$(get "$base/api/jobs?state=paused")" == 200 && "$(jq -r ".[0].id" "$dir/body")" == tick ]]'
expect "serve: resume through the API" '[[ "$(get -X POST -H "X-CSRF-Token: $csrf" -d "" "$base/api/jobs/tick/resume")" == 200 ]]'
hello_runs() { psql "SELECT count(*) FROM sked.sked_job_execution WHERE job_id = 'hello' AND status = 'executed'"; }
before_runs="$(hello_runs)"
expect "serve: run now through the API" '[[ "$(get -X POST -H "X-CSRF-Token: $csrf" -d "" "$base/api/jobs/hello/run-now")" == 200 ]]'
wait_for 20 '(( $(hello_runs) > before_runs ))'
expect "serve: the metrics count the runs" \
  '[[ "$(get "$base/metrics")" == 200 ]] && grep -q "^sked_runs_total{task=\"shell\",status=\"executed\"} [1-9]" "$dir/body" &&
   grep -qx "sked_schedulers_live 2" "$dir/body"'
kill -TERM "$server"
wait_exit "$server" 20
expect "serve exits 0 after SIGTERM" '[[ $exit_status == 0 ]]'
"$sked" serve --db "$url" --read-only --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
server=$!
wait_for 20 'grep -qs "^sked serve: http://127.0.0.1:[0-9]*/ serving.*(read-only)" "$dir/serve.out"'
base="$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/serve.out")"
csrf="$(curl --noproxy '*' -s "$base/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | cut -d'"' -f4)"
expect "serve --read-only: reads" '[[ "$(get "$base/api/jobs/tick")" == 200 ]]'
expect "serve --read-only: refuses a change" '[[ "$(get -X POST -H "X-CSRF-Token: $csrf" -d "" "$base/api/jobs/tick/pause")" == 403 ]]'
kill -TERM "$server"
wait_exit "$server" 20

kill -TERM "$a" "$b"
wait_exit "$a" 30
expect "the first daemon exits 0" '[[ $exit_status == 0 ]]'
wait_exit "$b" 30
expect "the second daemon exits 0" '[[ $exit_status == 0 ]]'

expect "no fire time of tick ran twice" \
  '[[ -z "$(psql "SELECT run_time FROM sked.sked_job_execution WHERE job_id = '"'"'tick'"'"' GROUP BY run_time HAVING count(*) > 1")" ]]'
expect "both daemons unregistered" '[[ "$(psql "SELECT count(*) FROM sked.sked_scheduler")" == 0 ]]'
check "executions: read back" 0 "*" "" -- executions --db "$url" --job tick --json
expect "executions --json: tick's runs" '(( $(jq length <<<"$out") >= 4 ))'

check "a password is never shown" 1 "" "no job with the id 'nosuch'" -- show nosuch --db "$secret_url"
expect "the message names the database without the password" '[[ "$err" != *hunter2* && "$err" == *"schema sked"* ]]'
check "?schema= picks the PostgreSQL schema" 2 "" "schema 'elsewhere' holds no sked store" -- jobs --db "$url?schema=elsewhere"
check "?schema= beside libpq's own parameters" 0 "*" "" -- jobs --db "$url?connect_timeout=5&schema=sked" --json
expect "jobs in the schema named: both" '[[ "$(jq length <<<"$out")" == 2 ]]'
check "schema= in a key/value connection string" 2 "" "schema 'elsewhere' holds no sked store" -- jobs --db "host=$sock user=postgres dbname=$dbname schema=elsewhere"

finish
