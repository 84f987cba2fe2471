#!/usr/bin/env bash
# Drives the real `sked` binary against temporary stores: jobs, show, executions, pause, resume,
# remove, run-now (without a scheduler), prune; --json shapes, exit statuses and bad input.
# Usage: store_test.sh path/to/sked
source "$(dirname "$0")/common.sh"

db="$dir/store.sqlite3"
cron="$dir/jobs.cron"
cat >"$cron" <<'CRON'
# jobs that never fire during the test
id=far     0 0 0 1 1 * 2099   echo far
id=farther 0 0 0 1 1 * 2100   echo farther
0 0 0 1 1 * 2101   echo derived
CRON

# The store is made as a user makes one: `sked run` syncs the file into it, then stops.
"$sked" run --crontab "$cron" --db "$db" --log-level error 2>"$dir/run.err" &
daemon=$!
wait_for 20 '[[ "$("$sked" jobs --db "$db" --json 2>/dev/null | jq length)" == 3 ]]'
kill -TERM "$daemon"
wait_exit "$daemon" 20
expect "sked run exits 0 after SIGTERM" '[[ $exit_status == 0 ]]'

derived="$("$sked" jobs --db "$db" --json | jq -r '.[] | select(.args.command == "echo derived") | .id')"
expect "a line without id= gets a derived id" '[[ "$derived" =~ ^cron-[0-9a-f]{16}$ ]]'

# History with fixed times, written as another program would.
sqlite3 "$db" "INSERT INTO sked_job_execution (job_id, status, run_time, duration, finished, exception, traceback) VALUES
  ('far', 'executed', '2020-01-01T09:00:00.000000Z', 1.234, '2020-01-01T09:00:01.234000Z', '', '--- stdout ---
far
'),
  ('far', 'error', '2020-01-02T09:00:00.000000Z', 0.5, '2020-01-02T09:00:00.500000Z',
   'sked::CommandFailed: exited with status 3 (command: echo far)', '--- stderr ---
boom
'),
  ('farther', 'started', '2020-01-03T09:00:00.000000Z', NULL, NULL, '', '');"

check "jobs: an aligned table, times in --tz" 0 \
"ID                     NAME          TASK   TRIGGER                   NEXT RUN                   STATE      LAST STATUS
far                    echo far      shell  cron['0 0 0 1 1 * 2099']  2099-01-01 01:00:00+01:00  scheduled  error
farther                echo farther  shell  cron['0 0 0 1 1 * 2100']  2100-01-01 01:00:00+01:00  scheduled  started
$derived  echo derived  shell  cron['0 0 0 1 1 * 2101']  2101-01-01 01:00:00+01:00  scheduled  -" "" \
  -- jobs --db "$db" --tz Europe/Berlin

check "jobs --json" 0 "*" "" -- jobs --db "$db" --json
expect "jobs --json: stable fields" \
  '[[ "$(jq -c ".[0] | keys" <<<"$out")" == "[\"args\",\"coalesce\",\"executor\",\"group\",\"id\",\"last_run_time\",\"last_status\",\"max_instances\",\"misfire_grace_time\",\"name\",\"next_run_time\",\"state\",\"task\",\"trigger\",\"trigger_json\"]" ]]'
expect "jobs --json: values" \
  '[[ "$(jq -c ".[0] | [.id, .next_run_time, .state, .last_status, .max_instances, .task]" <<<"$out")" == "[\"far\",\"2099-01-01T00:00:00.000000Z\",\"scheduled\",\"error\",1,\"shell\"]" ]]'

check "show: the job, its next 5 fire times and its executions" 0 \
"id              far
name            far
task            shell
args            {\"command\":\"echo far\",\"crontab\":\"$cron\"}
trigger         cron['0 0 0 1 1 * 2099']
state           scheduled
executor        default
group           crontab:$cron
max instances   1
coalesce        yes
misfire grace   60.000s

next fire times:
  2099-01-01 00:00:00Z

last 10 executions:
ID  STATUS    RUN TIME              DURATION  EXCEPTION
2   error     2020-01-02 09:00:00Z  0.500s    sked::CommandFailed: exited with status 3 (command: echo far)
1   executed  2020-01-01 09:00:00Z  1.234s" "" -- show far --db "$db" --tz UTC

check "show --json" 0 "*" "" -- show far --db "$db" --json
expect "show --json: fire times and executions" \
  '[[ "$(jq -c "[.id, .next_fire_times, (.executions | map(.id)), .timeout]" <<<"$out")" == "[\"far\",[\"2099-01-01T00:00:00.000000Z\"],[2,1],null]" ]]'
# A retry waiting in the store, as a scheduler leaves one after a failed run.
sqlite3 "$db" "INSERT INTO sked_run_request (job_id, requested_at, attempt) VALUES ('far', '2098-01-01T00:00:00.000000Z', 2)"
check "show lists pending runs" 0 "*" "" -- show far --db "$db" --tz UTC
expect "show: a stored retry" '[[ "$out" == *"pending runs:"*"2098-01-01 00:00:00Z  retry (attempt 2)"* ]]'
check "show --json lists pending runs" 0 "*" "" -- show far --db "$db" --json
expect "show --json: pending_runs" \
  '[[ "$(jq -c ".pending_runs" <<<"$out")" == "[{\"at\":\"2098-01-01T00:00:00.000000Z\",\"attempt\":2,\"kind\":\"retry\"}]" ]]'
sqlite3 "$db" "DELETE FROM sked_run_request"
check "show: an unknown job exits 1 naming it and the store" 1 "" \
  "sked show: no job with the id 'nope' was found in job store '$db'" -- show nope --db "$db"

check "executions: newest first, with durations and exceptions" 0 \
"ID  JOB      STATUS    RUN TIME              DURATION  EXCEPTION
3   farther  started   2020-01-03 09:00:00Z  -
2   far      error     2020-01-02 09:00:00Z  0.500s    sked::CommandFailed: exited with status 3 (command: echo far)
1   far      executed  2020-01-01 09:00:00Z  1.234s" "" -- executions --db "$db" --tz UTC
check "executions --job --status --limit" 0 \
"ID  JOB  STATUS    RUN TIME              DURATION  EXCEPTION
1   far  executed  2020-01-01 09:00:00Z  1.234s" "" -- executions --db "$db" --tz UTC --job far --status executed --limit 1
check "executions --since a wall time in --tz" 0 "*" "" -- executions --db "$db" --tz Asia/Tokyo --since 2020-01-02T18:00:00 --json
expect "executions --since: only later runs" '[[ "$(jq -c "map(.id)" <<<"$out")" == "[3,2]" ]]'
check "executions --since an age" 0 "[]" "" -- executions --db "$db" --since 1d --json
check "executions --json" 0 "*" "" -- executions --db "$db" --json --limit 1 --job far
expect "executions --json: stable fields" \
  '[[ "$(jq -c ".[0]" <<<"$out")" == "{\"duration\":0.5,\"exception\":\"sked::CommandFailed: exited with status 3 (command: echo far)\",\"finished\":\"2020-01-02T09:00:00.500000Z\",\"id\":2,\"job_id\":\"far\",\"run_time\":\"2020-01-02T09:00:00.000000Z\",\"status\":\"error\"}" ]]'
check "executions --id: one record with its output tail" 0 \
"execution  2
job        far
status     error
run time   2020-01-02 09:00:00Z
finished   2020-01-02 09:00:00Z
duration   0.500s
exception  sked::CommandFailed: exited with status 3 (command: echo far)
output / traceback:
--- stderr ---
boom" "" -- executions --db "$db" --tz UTC --id 2
check "executions --id --json adds the traceback" 0 "*" "" -- executions --db "$db" --id 1 --json
expect "executions --id --json" '[[ "$(jq -r .traceback <<<"$out")" == $'"'"'--- stdout ---\nfar'"'"' ]]'
check "executions --id of no record exits 1" 1 "" "no execution with the id 999 was found in job store '$db'" \
  -- executions --db "$db" --id 999
check "executions --status must be a status" 2 "" "--status 'done': expected started, executed" \
  -- executions --db "$db" --status done
check "executions --since must be an age or a time" 2 "" "--since 'yesterday': expected an age" \
  -- executions --db "$db" --since yesterday

# A command's output with terminal escape sequences (a title change, a cleared screen, a carriage
# return hiding what came before it) and bytes that are not UTF-8: escaped in text, kept in --json.
sqlite3 "$db" "INSERT INTO sked_job_execution (id, job_id, status, run_time, duration, finished, exception, traceback) VALUES
  (50, 'far', 'error', '2020-01-05T09:00:00.000000Z', 0.5, '2020-01-05T09:00:00.500000Z',
   'sked::CommandFailed: ' || char(27) || '[2J' || 'exited', '--- stdout ---' || char(10) || 'secret' || char(13) || 'ok' || char(9) || char(27) || ']0;pwned' || char(7) || char(155) || CAST(X'ff' AS TEXT) || 'caf' || char(233) || char(10))"
check "executions --id escapes control characters" 0 "*" "" -- executions --db "$db" --tz UTC --id 50
expect "executions --id: the exception escaped" '[[ "$out" == *"exception  sked::CommandFailed: \\x1b[2Jexited"* ]]'
want_tail="$(printf -- '--- stdout ---\nsecret\\x0dok\t\\x1b]0;pwned\\x07\\u009b\\xffcaf\xc3\xa9')"
expect "executions --id: the output escaped, but for newlines and tabs" '[[ "$out" == *"$want_tail" ]]'
expect "executions --id: no escape character reaches the terminal" '[[ "$out" != *$'"'"'\e'"'"'* ]]'
check "the executions table escapes them" 0 "*" "" -- executions --db "$db" --tz UTC --limit 1
expect "executions table: escaped" '[[ "$out" == *"sked::CommandFailed: \\x1b[2Jexited"* && "$out" != *$'"'"'\e'"'"'* ]]'
check "show escapes them" 0 "*" "" -- show far --db "$db" --tz UTC
expect "show: escaped" '[[ "$out" == *"\\x1b[2Jexited"* && "$out" != *$'"'"'\e'"'"'* ]]'
check "executions --id --json keeps the text, JSON-escaped" 0 "*" "" -- executions --db "$db" --id 50 --json
expect "--json: the escape sequences as they were" '[[ "$(jq -r .exception <<<"$out")" == "sked::CommandFailed: "$'"'"'\e'"'"'"[2Jexited" ]]'
expect "--json: a byte that is not UTF-8 reads as U+FFFD" '[[ "$(jq -r .traceback <<<"$out")" == *"�café"* ]]'
sqlite3 "$db" "DELETE FROM sked_job_execution WHERE id = 50"

check "pause" 0 "paused job 'far'" "" -- pause far --db "$db"
check "pause again changes nothing" 0 "job 'far' is already paused" "" -- pause far --db "$db"
check "a paused job is listed paused" 0 "*" "" -- jobs --db "$db" --json
expect "paused: state and no next run" \
  '[[ "$(jq -c ".[] | select(.id == \"far\") | [.state, .next_run_time]" <<<"$out")" == "[\"paused\",null]" ]]'
check "resume" 0 "resumed job 'far'; next run 2099-01-01 00:00:00Z" "" -- resume far --db "$db" --tz UTC
check "resume a scheduled job changes nothing" 0 "job 'far' is not paused (next run 2099-01-01 00:00:00Z)" "" \
  -- resume far --db "$db" --tz UTC
# A job due long ago that nobody claimed: overdue while no scheduler runs on the store, task unknown
# while one does (its heartbeat fresh; a row as another host's scheduler writes it).
sqlite3 "$db" "UPDATE sked_job SET next_run_time = '2020-01-01T00:00:00.000000Z' WHERE id = 'farther'"
state_of() { "$sked" jobs --db "$db" --json | jq -r ".[] | select(.id == \"$1\") | .state"; }
expect "unclaimed with no scheduler running: overdue" '[[ "$(state_of farther)" == overdue ]]'
expect "far is still scheduled" '[[ "$(state_of far)" == scheduled ]]'
sqlite3 "$db" "INSERT INTO sked_scheduler (id, host, pid, started, heartbeat)
  VALUES ('other:1:live', 'another-host', 1, '$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)', '$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)')"
expect "unclaimed while a scheduler runs: task unknown" '[[ "$(state_of farther)" == "task unknown" ]]'
check "show names the state" 0 "*" "" -- show farther --db "$db"
expect "show: task unknown" '[[ "$out" == *"state           task unknown"* ]]'
sqlite3 "$db" "DELETE FROM sked_scheduler; UPDATE sked_job SET next_run_time = '2100-01-01T00:00:00.000000Z' WHERE id = 'farther'"

check "pause an unknown job exits 1" 1 "" "sked pause: no job with the id 'nope' was found in job store '$db'" \
  -- pause nope --db "$db"
check "resume an unknown job exits 1" 1 "" "no job with the id 'nope'" -- resume nope --db "$db"

check "run-now with no scheduler running says so at once and exits 1" 1 "" \
  "sked run-now: no scheduler is running on '$db', so nothing would run job 'far'" -- run-now far --db "$db"
expect "no request was left" '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_run_request")" == 0 ]]'
check "run-now --wait with no scheduler gives up, withdraws the request and exits 1" 1 "" \
  "sked run-now: no scheduler picked up job 'far' within 0.300s" -- run-now far --db "$db" --timeout 0.3 --wait
expect "the request was withdrawn" '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_run_request")" == 0 ]]'
for sig in INT TERM; do
  "$sked" run-now far --db "$db" --wait --timeout 60 >"$dir/wait.out" 2>"$dir/wait.err" &
  waiter=$!
  wait_for 20 '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_run_request")" == 1 ]]'
  kill -"$sig" "$waiter"
  wait_exit "$waiter" 10
  expect "SIG$sig on a waiting run-now exits 128+signal" '[[ $exit_status == $((128 + $(kill -l "$sig"))) ]]'
  expect "SIG$sig on a waiting run-now says the request was withdrawn" \
    '[[ "$(cat "$dir/wait.err")" == *"interrupted (SIG$sig): the run request for job '"'"'far'"'"' was withdrawn"* ]]'
  expect "SIG$sig on a waiting run-now withdraws the request" \
    '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_run_request")" == 0 ]]'
done
check "run-now of an unknown job exits 1" 1 "" "no job with the id 'nope'" -- run-now nope --db "$db"
check "run-now with a bad --timeout exits 2" 2 "" "--timeout 'soon'" -- run-now far --db "$db" --timeout soon
for timeout in -1s -1 0 0s 0.0000001 -0.5; do
  check "run-now --timeout '$timeout' is refused" 2 "" "sked run-now: --timeout '$timeout': " -- run-now far --db "$db" --timeout "$timeout" --wait
done
expect "a refused run-now left no request" '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_run_request")" == 0 ]]'

check "remove" 0 "removed job '$derived'" "" -- remove "$derived" --db "$db"
check "remove again exits 1" 1 "" "no job with the id '$derived'" -- remove "$derived" --db "$db"

check "prune deletes old records, never running ones" 0 "*" "" -- prune --older-than 30d --db "$db" --tz UTC
expect "prune says how many" '[[ "$out" == "deleted 2 execution records with a run time before "*Z ]]'
check "prune --json" 0 "*" "" -- prune --older-than 1h30m --db "$db" --json
expect "prune --json: fields" '[[ "$(jq -c "[.deleted, (.cutoff | test(\"Z$\"))]" <<<"$out")" == "[0,true]" ]]'
expect "the started record stays" '[[ "$(sqlite3 "$db" "SELECT id FROM sked_job_execution")" == 3 ]]'
check "prune with a bad age exits 2" 2 "" \
  "sked prune: --older-than '30x': expected an age such as 30d, 12h, 90s or 1h30m" -- prune --older-than 30x --db "$db"
check "prune needs --older-than" 2 "" "--older-than is required" -- prune --db "$db"
# A negative or zero age put the cutoff at or after now and deleted every record.
sqlite3 "$db" "INSERT INTO sked_job_execution (job_id, status, run_time, duration, finished, exception, traceback)
  VALUES ('far', 'executed', '$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S.000000Z)', 1, NULL, '', '')"
for age in -1d -52w 1d-1d +1d 0d 0s 0h0m 1d2 d 1x2d " 1d" 99999999999w; do
  check "prune --older-than '$age' is refused" 2 "" "sked prune: --older-than '$age': " -- prune --older-than "$age" --db "$db"
done
check "prune: a sign is named" 2 "" "--older-than '-1d': an age has no sign" -- prune --older-than -1d --db "$db"
check "prune: a zero age is named" 2 "" "--older-than '0d': an age must be longer than zero" -- prune --older-than 0d --db "$db"
expect "refused prunes deleted nothing" '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_job_execution")" == 2 ]]'
sqlite3 "$db" "DELETE FROM sked_job_execution WHERE id <> 3"

# Stores that are not there, not sked's, or too new: status 2, nothing created or changed.
missing="$dir/missing.sqlite3"
for cmd in "jobs" "show far" "executions" "pause far" "resume far" "remove far" "run-now far" "prune --older-than 1d"; do
  # shellcheck disable=SC2086
  check "$cmd: a missing store is an error and is not created" 2 "" "job store '$missing': does not exist" \
    -- $cmd --db "$missing"
  expect "$cmd: nothing created" '[[ ! -e "$missing" ]]'
done
check "a missing store says how to make one" 2 "" "\`sked run --crontab FILE --db $missing\` makes one" -- jobs --db "$missing"
check "jobs --db a directory says so" 2 "" "sked jobs: --db '$dir' is a directory" -- jobs --db "$dir"
check "jobs --db in a missing directory says which" 2 "" "the directory '$dir/nowhere' does not exist" \
  -- jobs --db "$dir/nowhere/sked.sqlite3"
# Paths that are not regular files: SQLite opened /dev/null (and left a -journal file of mode 0666
# beside it) and created the target of a dangling symbolic link.
check "jobs --db /dev/null is refused" 2 "" "sked jobs: --db '/dev/null' is not a regular file" -- jobs --db /dev/null
check "pause --db /dev/null is refused" 2 "" "sked pause: --db '/dev/null' is not a regular file" -- pause far --db /dev/null
mkfifo "$dir/fifo"
check "a FIFO is refused" 2 "" "--db '$dir/fifo' is not a regular file" -- executions --db "$dir/fifo"
ln -s "$dir/target.sqlite3" "$dir/dangling.sqlite3"
check "a symbolic link to nothing is refused" 2 "" \
  "sked jobs: --db '$dir/dangling.sqlite3' is a symbolic link to '$dir/target.sqlite3', which does not exist" \
  -- jobs --db "$dir/dangling.sqlite3"
ln -s "$db" "$dir/link.sqlite3"
check "a symbolic link to a store is followed" 0 "*" "" -- jobs --db "$dir/link.sqlite3" --json
other="$dir/other.sqlite3"
sqlite3 "$other" "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)"
check "a database of another program is refused" 2 "" "job store '$other': is an SQLite database of another program, not a sked job store" \
  -- jobs --db "$other"
check "... also by a command that writes" 2 "" "not a sked job store" -- pause far --db "$other"
newer="$dir/newer.sqlite3"
sqlite3 "$newer" "CREATE TABLE sked_job (id TEXT PRIMARY KEY); PRAGMA application_id = 1936418148; PRAGMA user_version = 99;"
check "a store of a newer sked is refused" 2 "" "was written by a newer sked (schema version 99" -- executions --db "$newer"
older="$dir/older.sqlite3"
sqlite3 "$older" "CREATE TABLE sked_job (id TEXT PRIMARY KEY); PRAGMA application_id = 1936418148; PRAGMA user_version = 2;"
before="$(sha256sum <"$older")"
check "an older store is not migrated by the tool" 2 "" "has schema version 2, older than this sked's 5" -- pause far --db "$older"
expect "the older store is unchanged" '[[ "$(sha256sum <"$older")" == "$before" ]]'
printf 'not a database at all, just text that is long enough to have a header\n%.0s' {1..20} >"$dir/text.sqlite3"
check "a file that is not SQLite is refused" 2 "" "is not an SQLite database" -- jobs --db "$dir/text.sqlite3"

# A store the user may read but not write. Root writes whatever the mode says, so as root the
# commands run as `nobody` (setpriv), which the file's mode does stop.
mkdir -p "$dir/ro" && cp "$db" "$dir/ro/ro.sqlite3" && chmod 444 "$dir/ro/ro.sqlite3" && chmod 555 "$dir/ro"
as_user="$sked"
if [[ "$(id -u)" == 0 ]] && command -v setpriv >/dev/null; then
  chmod 711 "$dir"
  printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups "%s" "$@"\n' "$sked" >"$dir/as-nobody"
  chmod 755 "$dir/as-nobody"
  as_user="$dir/as-nobody"
fi
if [[ "$(id -u)" != 0 || "$as_user" != "$sked" ]]; then
  before="$(sha256sum <"$dir/ro/ro.sqlite3")"
  real_sked="$sked"
  sked="$as_user"
  check "a read-only store can be listed" 0 "*" "" -- jobs --db "$dir/ro/ro.sqlite3"
  check "a read-only store cannot be changed: status 1 naming it" 1 "" "job store '$dir/ro/ro.sqlite3'" \
    -- pause far --db "$dir/ro/ro.sqlite3"
  sked="$real_sked"
  expect "the read-only store is unchanged" '[[ "$(sha256sum <"$dir/ro/ro.sqlite3")" == "$before" ]]'
else
  echo "skip read-only store checks: running as root without setpriv"
fi

# Help and version.
check "--version" 0 "*" "" -- --version
expect "--version prints the version" '[[ "$out" =~ ^sked\ [0-9]+\.[0-9]+\.[0-9]+$ ]]'
check "help lists every command" 0 "*" "" -- help
for cmd in next jobs show executions pause resume remove run-now prune run; do
  expect "help lists $cmd" '[[ "$out" == *"  $cmd "* ]]'
done
for cmd in jobs show executions pause resume remove run-now prune run; do
  check "$cmd --help has examples" 0 "*" "" -- "$cmd" --help
  expect "$cmd --help: Examples" '[[ "$out" == *"Example"* && "$out" == *"Exit status"* ]]'
done
check "help COMMAND" 0 "*" "" -- help run-now
expect "help run-now explains it" '[[ "$out" == *"sked run-now nightly-backup"* ]]'
check "help of an unknown command exits 2" 2 "" "there is no command 'frobnicate'" -- help frobnicate
check "an unknown command exits 2" 2 "" "sked: there is no command 'frobnicate'" -- frobnicate
check "a misspelt command gets a suggestion" 2 "" "there is no command 'jbos' (did you mean 'jobs'?)" -- jbos
check "a truncated command gets a suggestion" 2 "" "(did you mean 'executions'?)" -- exec
check "help of a misspelt command gets a suggestion" 2 "" "(did you mean 'run-now'?)" -- help runnow
for cmd in jobs show run-now run next; do
  help_usage="$("$sked" help "$cmd" | grep -m1 "^Usage:")"
  flag_usage="$("$sked" "$cmd" --help | grep -m1 "^Usage:")"
  expect "help $cmd and $cmd --help print the same usage line" '[[ "$help_usage" == "$flag_usage" && "$help_usage" == *"sked $cmd"* ]]'
done
finish
