#!/usr/bin/env bash
# Drives `sked run --crontab`: bad files, a per-second job run by two daemons sharing one store
# (each fire time runs once), run-now through a running daemon, SIGHUP reloads, SIGTERM with a
# grace period. Waits by polling conditions with deadlines, never by sleeping for the scheduler.
# Usage: run_test.sh path/to/sked
source "$(dirname "$0")/common.sh"

db="$dir/run.sqlite3"
cron="$dir/jobs.cron"

# A bad line: status 2, FILE:LINE:COLUMN, and no store is created.
printf '# header\n\n*/5 * * * *  echo ok\n0 61 * * *  echo bad\n' >"$cron"
check "a bad expression names the file, line and column" 2 "" \
  "sked run: $cron:4:3: hour: '61' is out of range 0-23" -- run --crontab "$cron" --db "$db"
expect "no store is created for a bad crontab" '[[ ! -e "$db" ]]'
printf '* * * * *\n' >"$cron"
check "a line without a command" 2 "" "$cron:1:10: expected a cron expression (5, 6 or 7 fields, or an @nickname) and then a command" \
  -- run --crontab "$cron" --db "$db"
printf 'id=a @daily echo 1\nid=a @hourly echo 2\n' >"$cron"
check "a repeated id" 2 "" "$cron:2:1: job id 'a' is used already on line 1" -- run --crontab "$cron" --db "$db"
printf 'id=b/c @daily echo 1\n' >"$cron"
check "a bad id" 2 "" "$cron:1:5: '/' is not allowed in a job id" -- run --crontab "$cron" --db "$db"
check "a missing crontab file" 2 "" "cannot read crontab file '$dir/none.cron'" -- run --crontab "$dir/none.cron" --db "$db"
check "a crontab path that is a directory is an error, not an empty file" 2 "" \
  "sked run: cannot read crontab file '$dir': it is a directory" -- run --crontab "$dir" --db "$db"
expect "no store is created for a crontab that cannot be read" '[[ ! -e "$db" ]]'
sqlite3 "$dir/other.sqlite3" "CREATE TABLE invoices (id INTEGER PRIMARY KEY)"
printf 'id=x @daily echo 1\n' >"$cron"
check "run refuses a database of another program" 2 "" "not a sked job store" -- run --crontab "$cron" --db "$dir/other.sqlite3"

# An application's job in the same store: the daemon must never remove it.
cat >"$cron" <<CRON
# every second, with the seconds field
id=tick  * * * * * *   echo "\$SKED_JOB_ID \$SKED_RUN_TIME" >>"$dir/runs.log"
id=hello @yearly       echo hello-from-run-now
CRON

"$sked" run --crontab "$cron" --db "$db" 2>"$dir/a.err" &
a=$!
wait_for 20 '[[ -e "$db" ]] && [[ "$("$sked" jobs --db "$db" --json 2>/dev/null | jq length)" == 2 ]]'
"$sked" run --crontab "$cron" --db "$db" 2>"$dir/b.err" &
b=$!

executed() { sqlite3 "$db" "SELECT count(*) FROM sked_job_execution WHERE job_id = 'tick' AND status = 'executed'"; }
wait_for 20 '(( $(executed) >= 4 ))'

check "run-now through the running daemons prints the record" 0 "*" "" -- run-now hello --db "$db" --json --timeout 20
expect "run-now: executed once, with the command's output" \
  '[[ "$(jq -r "[.status, .job_id, (.traceback | contains(\"hello-from-run-now\"))] | @tsv" <<<"$out")" == $'"'"'executed\thello\ttrue'"'"' ]]'
expect "run-now ran once" '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_job_execution WHERE job_id = '"'"'hello'"'"'")" == 1 ]]'

# SIGHUP reloads the file: a new line is added, a removed line's job is removed.
cat >"$cron" <<CRON
id=tick  * * * * * *   echo "\$SKED_JOB_ID \$SKED_RUN_TIME" >>"$dir/runs.log"
id=added 0 0 0 1 1 * 2099  echo added
CRON
kill -HUP "$a"
wait_for 20 '[[ "$("$sked" jobs --db "$db" --json | jq -c "map(.id) | sort")" == "[\"added\",\"tick\"]" ]]'
wait_for 20 'grep -q "reloaded .*: 1 added, 0 changed, 1 removed, 1 unchanged" "$dir/a.err"'
# A reload that fails changes nothing: the file replaced by a directory (it read as an empty file and
# every job was removed), then a file whose line 3 is not UTF-8 (lines 1-2 were changed).
jobs_now() { "$sked" jobs --db "$db" --json | jq -c 'map([.id, .args.command, .trigger]) | sort'; }
jobs_before="$(jobs_now)"
mv "$cron" "$cron.saved" && mkdir "$cron"
kill -HUP "$a"
wait_for 20 'grep -q "ERROR: reload failed, the jobs stay as they were: cannot read crontab file .$cron.: it is a directory" "$dir/a.err"'
expect "a crontab that became a directory removes no job" '[[ "$(jobs_now)" == "$jobs_before" ]]'
rmdir "$cron"
printf 'id=tick @hourly echo changed
id=added @daily echo changed
id=bad @daily echo caf\xe9\n' >"$cron"
kill -HUP "$a"
wait_for 20 'grep -q "ERROR: reload failed, the jobs stay as they were: $cron:3:23: byte 0xE9 is not UTF-8" "$dir/a.err"'
expect "a reload that fails on line 3 changes nothing of lines 1-2" '[[ "$(jobs_now)" == "$jobs_before" ]]'
mv "$cron.saved" "$cron"

# pause and resume reach the running daemons. A claim that commits after the pause cannot take
# tick, and every claim before it ran at fire times before it: no run of tick is later than the
# moment pause returned, however long the daemons keep going (two run-now are passes of theirs).
check "pause while daemons run" 0 "paused job 'tick'" "" -- pause tick --db "$db"
paused_at="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
check "run-now after the pause (1)" 0 "*" "" -- run-now added --db "$db" --timeout 20
check "run-now after the pause (2)" 0 "*" "" -- run-now added --db "$db" --timeout 20
expect "no run of a paused job" \
  '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_job_execution WHERE job_id = '"'"'tick'"'"' AND run_time > '"'"'$paused_at'"'"'")" == 0 ]]'
check "resume while daemons run" 0 "*" "" -- resume tick --db "$db"
before=$(executed)
wait_for 20 '(( $(executed) >= before + 2 ))'
kill -TERM "$a" "$b"
wait_exit "$a" 20
expect "the first daemon exits 0 on SIGTERM" '[[ $exit_status == 0 ]]'
wait_exit "$b" 20
expect "the second daemon exits 0 on SIGTERM" '[[ $exit_status == 0 ]]'

# Every run wrote one line with its job id and scheduled time: no fire time ran twice, and every
# executed record is one real run.
runs=$(wc -l <"$dir/runs.log")
expect "each fire time ran once across both daemons" '[[ -z "$(cut -d" " -f2 "$dir/runs.log" | sort | uniq -d)" ]]'
expect "one executed record per run of the command" '[[ "$runs" == "$(executed)" ]]'
expect "a run's log line names the job id" 'grep -q "INFO: Job '"'"'tick'"'"' executed successfully" "$dir/a.err"'
expect "no log line names a command" '! grep -q "SKED_RUN_TIME" "$dir/a.err" "$dir/b.err"'
expect "two daemons starting on one file warn of no foreign job" '! grep -q "was not added by this crontab" "$dir/a.err" "$dir/b.err"'
expect "the commands saw SKED_JOB_ID and SKED_RUN_TIME (ISO-8601)" \
  '[[ -z "$(grep -Ev "^tick [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" "$dir/runs.log")" ]]'
expect "nothing is left started after a clean stop" \
  '[[ "$(sqlite3 "$db" "SELECT count(*) FROM sked_job_execution WHERE status IN ('"'"'started'"'"', '"'"'interrupted'"'"')")" == 0 ]]'

# SIGINT (as SIGTERM) waits up to --grace for running commands, then stops and records them.
slow_db="$dir/slow.sqlite3"
printf 'id=slow * * * * * * sleep 30\nid=nap @yearly sleep 30\n' >"$dir/slow.cron"
"$sked" run --crontab "$dir/slow.cron" --db "$slow_db" --grace 1s 2>"$dir/slow.err" &
c=$!
wait_for 20 '[[ -e "$slow_db" ]] && [[ "$(sqlite3 "$slow_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'started'"'"'" 2>/dev/null)" == 1 ]]'
check "run-now of a run still going when --timeout passes prints it and exits 1" 1 "*" \
  "sked run-now: job 'nap' is still running after 2.000s (execution" -- run-now nap --db "$slow_db" --timeout 2
expect "the record printed is the started run" '[[ "$out" == *"status     started"* ]]'
kill -INT "$c"
wait_exit "$c" 20
expect "the daemon with a running command exits 0 after the grace period (SIGINT)" '[[ $exit_status == 0 ]]'
expect "SIGINT is logged" 'grep -q "SIGINT: stopping; waiting up to 1.000s" "$dir/slow.err"'
expect "the stopped commands are recorded as errors" \
  '[[ "$(sqlite3 "$slow_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'error'"'"'")" == 2 ]]'
expect "and no run is left started" \
  '[[ "$(sqlite3 "$slow_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'started'"'"'")" == 0 ]]'

# A second Ctrl-C does not wait out --grace.
rm -f "$slow_db"
"$sked" run --crontab "$dir/slow.cron" --db "$slow_db" --grace 10m 2>"$dir/slow2.err" &
c=$!
wait_for 20 '[[ -e "$slow_db" ]] && [[ "$(sqlite3 "$slow_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'started'"'"'" 2>/dev/null)" == 1 ]]'
kill -INT "$c"
wait_for 10 'grep -q "SIGINT: stopping; waiting up to" "$dir/slow2.err"'
kill -INT "$c"
wait_exit "$c" 20
expect "a second SIGINT stops at once, and the daemon exits 0" '[[ $exit_status == 0 ]]'
expect "the second SIGINT is logged" 'grep -q "second SIGINT: stopping running commands now" "$dir/slow2.err"'
expect "the stopped command is recorded" \
  '[[ "$(sqlite3 "$slow_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'started'"'"'")" == 0 ]]'

# SIGKILL of the daemon: the command it started (a process group of its own) survives it. The
# restarted daemon stops it (SIGTERM) before it runs the job again, and records the run interrupted
# naming the process group: never two instances of a max_instances 1 job, never a run recorded
# interrupted that goes on running.
kill_db="$dir/kill.sqlite3"
printf 'id=long * * * * * * echo $$ >>"%s/long.pids"; exec sleep 300\n' "$dir" >"$dir/kill.cron"
"$sked" run --crontab "$dir/kill.cron" --db "$kill_db" --grace 1s 2>"$dir/kill1.err" &
c=$!
wait_for 20 '[[ -s "$dir/long.pids" ]]'
survivor="$(head -1 "$dir/long.pids")"
wait_for 20 '[[ "$(sqlite3 "$kill_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'started'"'"' AND process LIKE '"'"'pgid=$survivor %'"'"'")" == 1 ]]'
{ kill -KILL "$c" && wait "$c"; } 2>/dev/null  # without bash's "Killed" line
expect "the command outlives a daemon killed by SIGKILL" 'kill -0 "$survivor"'
"$sked" run --crontab "$dir/kill.cron" --db "$kill_db" --grace 1s 2>"$dir/kill2.err" &
c=$!
wait_for 20 '[[ "$(sqlite3 "$kill_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'interrupted'"'"'")" == 1 ]]'
wait_for 20 '(( $(wc -l <"$dir/long.pids") >= 2 ))'
# A zombie waiting for its new parent to reap it has ended.
gone() { [[ ! -e "/proc/$1" ]] || [[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" == Z ]] || [[ ! -e "/proc/$1/stat" ]]; }
expect "the restarted daemon stopped the survivor" 'gone "$survivor"'
expect "the interrupted record names the process group it stopped" \
  '[[ "$(sqlite3 "$kill_db" "SELECT exception FROM sked_job_execution WHERE status = '"'"'interrupted'"'"'")" == *"its command (process group $survivor) was still running and was stopped with SIGTERM"* ]]'
expect "the restarted daemon logs it" 'grep -q "outlived scheduler" "$dir/kill2.err"'
expect "one instance at a time: the next run started after the survivor was stopped" \
  '[[ "$(sqlite3 "$kill_db" "SELECT count(*) FROM sked_job_execution WHERE status = '"'"'started'"'"'")" == 1 ]]'
kill -TERM "$c"
wait_exit "$c" 20
expect "the restarted daemon exits 0" '[[ $exit_status == 0 ]]'
kill -KILL "$survivor" 2>/dev/null  # only if the test failed

# Two crontab files on one store: each daemon runs its own file's jobs (their group), never the
# other's, although both have the shell task.
share_db="$dir/share.sqlite3"
printf 'id=from-a * * * * * * true\n' >"$dir/a.cron"
printf 'id=from-b * * * * * * true\n' >"$dir/b.cron"
"$sked" run --crontab "$dir/a.cron" --db "$share_db" 2>"$dir/share-a.err" &
pa=$!
wait_for 20 '[[ -e "$share_db" ]] && [[ "$("$sked" jobs --db "$share_db" --json 2>/dev/null | jq length)" == 1 ]]'
"$sked" run --crontab "$dir/b.cron" --db "$share_db" 2>"$dir/share-b.err" &
pb=$!
ran_by() { sqlite3 "$share_db" "SELECT count(*) FROM sked_job_execution WHERE job_id = '$1' AND status = 'executed' AND scheduler_id LIKE '%:$2:%'"; }
wait_for 20 '(( $(ran_by from-a $pa) >= 3 && $(ran_by from-b $pb) >= 3 ))'
expect "a.cron's job runs only in the daemon of a.cron" '[[ "$(ran_by from-a $pb)" == 0 ]]'
expect "b.cron's job runs only in the daemon of b.cron" '[[ "$(ran_by from-b $pa)" == 0 ]]'
expect "sked jobs --json shows each job's group" \
  '[[ "$("$sked" jobs --db "$share_db" --json | jq -r "map(.id + \" \" + .group) | sort | join(\",\")")" == "from-a crontab:$dir/a.cron,from-b crontab:$dir/b.cron" ]]'
expect "sked jobs shows a GROUP column when the jobs are in several groups" '"$sked" jobs --db "$share_db" | head -1 | grep -q "GROUP"'
expect "sked show names the group" '"$sked" show from-a --db "$share_db" | grep -qx "group *crontab:$dir/a.cron"'
kill -TERM "$pa" "$pb"
wait_exit "$pa" 20
expect "the daemon of a.cron exits 0" '[[ $exit_status == 0 ]]'
wait_exit "$pb" 20
expect "the daemon of b.cron exits 0" '[[ $exit_status == 0 ]]'
expect "neither daemon warned of the other's job" '! grep -q "not registered\|not added by this crontab" "$dir/share-a.err" "$dir/share-b.err"'

# --group NAME instead of the file's own group: two copies of one crontab at different paths (as on
# two hosts) share its job when both name the group; a file's jobs are its own, so the second copy's
# line is skipped and its daemon runs the first one's job.
group_db="$dir/group.sqlite3"
mkdir -p "$dir/host1" "$dir/host2"
printf 'id=nightly * * * * * * true\n' | tee "$dir/host1/jobs.cron" >"$dir/host2/jobs.cron"
"$sked" run --crontab "$dir/host1/jobs.cron" --group nightly --db "$group_db" 2>"$dir/group-1.err" &
g1=$!
wait_for 20 '[[ -e "$group_db" ]] && [[ "$("$sked" jobs --db "$group_db" --json 2>/dev/null | jq length)" == 1 ]]'
expect "--group names the group of the file's jobs" \
  '[[ "$("$sked" jobs --db "$group_db" --json | jq -r ".[0].group")" == nightly ]]'
"$sked" run --crontab "$dir/host2/jobs.cron" --group nightly --db "$group_db" 2>"$dir/group-2.err" &
g2=$!
group_ran_by() { sqlite3 "$group_db" "SELECT count(*) FROM sked_job_execution WHERE status = 'executed' AND scheduler_id LIKE '%:$1:%'"; }
wait_for 30 '(( $(group_ran_by $g1) >= 1 && $(group_ran_by $g2) >= 1 ))'
expect "both daemons of the group run its job" '(( $(group_ran_by $g1) >= 1 && $(group_ran_by $g2) >= 1 ))'
kill -TERM "$g1" "$g2"
wait_exit "$g1" 20
expect "the first daemon of the group exits 0" '[[ $exit_status == 0 ]]'
wait_exit "$g2" 20
expect "the second daemon of the group exits 0" '[[ $exit_status == 0 ]]'
"$sked" run --crontab "$dir/host1/jobs.cron" --group '' --db "$dir/empty-group.sqlite3" 2>"$dir/empty-group.err"
empty_group_status=$?
expect "an empty --group is refused with exit 2" '[[ $empty_group_status == 2 ]]'
expect "the refusal names --group" 'grep -q -- "--group: the group name is empty" "$dir/empty-group.err"'
expect "no store is created for an empty --group" '[[ ! -e "$dir/empty-group.sqlite3" ]]'

# Environment lines, as cronie reads them: variables for the commands below, CRON_TZ for their zone.
env_db="$dir/env.sqlite3"
cat >"$dir/env.cron" <<CRON
MAILTO=ops@example.com
GREETING = 'hello  world'
CRON_TZ=America/New_York
id=greet * * * * * *  echo "\$GREETING from \$CRON_TZ" >>"$dir/env.log"
CRON
"$sked" run --crontab "$dir/env.cron" --db "$env_db" 2>"$dir/env.err" &
c=$!
wait_for 20 '[[ -s "$dir/env.log" ]]'
kill -TERM "$c"
wait_exit "$c" 20
expect "commands see the variables set above them" '[[ "$(head -1 "$dir/env.log")" == "hello  world from America/New_York" ]]'
expect "MAILTO is accepted, and said once not to mail" '[[ "$(grep -c "sets MAILTO: sked does not send mail" "$dir/env.err")" == 1 ]]'
expect "CRON_TZ sets the job's zone" \
  '[[ "$("$sked" show greet --db "$env_db" --json | jq -r .trigger_json.timezone)" == America/New_York ]]'
expect "the variables are in the shell task's env" \
  '[[ "$("$sked" show greet --db "$env_db" --json | jq -c .args.env.GREETING)" == "\"hello  world\"" ]]'

# --db that cannot be a store file names the problem.
check "run --db a directory says so" 2 "" "sked run: --db '$dir' is a directory" -- run --crontab "$dir/env.cron" --db "$dir"
check "run --db in a missing directory says which" 2 "" \
  "sked run: --db '$dir/nowhere/x.sqlite3': the directory '$dir/nowhere' does not exist" \
  -- run --crontab "$dir/env.cron" --db "$dir/nowhere/x.sqlite3"
expect "nothing was created" '[[ ! -e "$dir/nowhere" ]]'
journal_before="$(ls /dev/null-journal 2>/dev/null)"
check "run --db /dev/null is refused" 2 "" "sked run: --db '/dev/null' is not a regular file" -- run --crontab "$dir/env.cron" --db /dev/null
expect "no -journal file beside /dev/null" '[[ "$(ls /dev/null-journal 2>/dev/null)" == "$journal_before" ]]'
ln -s "$dir/elsewhere/target.sqlite3" "$dir/dangling.sqlite3" && mkdir "$dir/elsewhere"
check "run --db a symbolic link to nothing is refused" 2 "" \
  "sked run: --db '$dir/dangling.sqlite3' is a symbolic link to '$dir/elsewhere/target.sqlite3', which does not exist" \
  -- run --crontab "$dir/env.cron" --db "$dir/dangling.sqlite3"
expect "its target is not created" '[[ ! -e "$dir/elsewhere/target.sqlite3" ]]'
check "a crontab line with four fields says a field is missing" 2 "" \
  "a field is missing: '0 9 * *' has 4 fields" -- run --crontab <(echo "0 9 * * echo hi") --db "$dir/four.sqlite3"
finish
