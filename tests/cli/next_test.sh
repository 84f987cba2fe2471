#!/usr/bin/env bash
# Drives the real `sked next` binary: its output, its exit status and what goes to stderr.
# Usage: next_test.sh path/to/sked
source "$(dirname "$0")/common.sh"

check "spring-forward gap fires at the end of the gap" 0 \
"2026-03-28T02:30:00+01:00
2026-03-29T03:00:00+02:00
2026-03-30T02:30:00+02:00" "" -- next --tz Europe/Berlin --from 2026-03-28T00:00:00 -n 3 '30 2 * * *'

check "wildcard schedule fires in both passes of the repeated hour" 0 \
"2026-10-25T02:00:00+02:00
2026-10-25T02:30:00+02:00
2026-10-25T02:00:00+01:00
2026-10-25T02:30:00+01:00" "" -- next --tz Europe/Berlin --from 2026-10-25T01:45:00+02:00 -n 4 '*/30 * * * *'

check "-n defaults to 5 and times are strictly after --from" 0 \
"2026-01-01T01:00:00+00:00
2026-01-01T02:00:00+00:00
2026-01-01T03:00:00+00:00
2026-01-01T04:00:00+00:00
2026-01-01T05:00:00+00:00" "" -- next --tz UTC --from 2026-01-01T00:00:00Z '0 * * * *'

check "an unquoted crontab line is joined" 0 \
"2026-01-01T09:00:00+05:30
2026-01-02T09:00:00+05:30" "" -- next --tz Asia/Kolkata --from 2026-01-01T00:00:00+05:30 -n 2 0 9 '*' '*' '*'

check "after a fractional --from, fire times are whole seconds" 0 \
"2026-01-01T00:00:20+00:00
2026-01-01T00:00:40+00:00" "" -- next --tz UTC --from 2026-01-01T00:00:00.5Z -n 2 '*/20 * * * * *'

check "field style with APScheduler's defaulting and 0 = Monday" 0 \
"2026-01-05T09:00:00+00:00
2026-01-12T09:00:00+00:00" "" -- next --tz UTC --from 2026-01-01T00:00:00Z -n 2 --field day_of_week=0 --field hour=9

check "an end date prints fewer lines" 0 \
"2026-01-01T12:00:00+00:00
2026-01-02T12:00:00+00:00" "" -- next --tz UTC --from 2026-01-01T00:00:00Z -n 5 --field hour=12 --field end_date=2026-01-02T12:00:00Z

check "a year range prints fewer lines" 0 \
"2027-01-01T00:00:00+00:00" "" -- next --tz UTC --from 2026-01-01T00:00:00Z -n 5 '0 0 0 1 1 * 2027'

check "fire times stop at the year 9999" 0 \
"9999-12-31T23:59:00+00:00" "" -- next --tz UTC --from 9999-12-31T23:58:00Z -n 3 '* * * * *'
check "... in the zone's wall time too" 0 "" "" -- next --tz Europe/Berlin --from 9999-12-31T23:59:00 -n 3 '* * * * *'

check "an impossible schedule prints nothing and succeeds" 0 "" "" -- next --tz UTC --from 2026-01-01T00:00:00Z '0 0 30 2 *'

check "-n 0 prints nothing" 0 "" "" -- next --tz UTC -n 0 '* * * * *'

check "a bad expression exits 2 with the error on stderr" 2 "" \
"sked next: minute: '61' is out of range 0-59 (at column 1 of '61 * * * *')" -- next --tz UTC '61 * * * *'

check "a bad field exits 2" 2 "" "day_of_week: '7' is out of range 0-6" -- next --tz UTC --field day_of_week=7

check "an unknown field name exits 2" 2 "" "unknown field 'fortnight'" -- next --tz UTC --field fortnight=1

check "an expression and fields together exit 2" 2 "" "not both" -- next --tz UTC --field hour=1 '* * * * *'

check "nothing to preview exits 2" 2 "" "give a crontab expression" -- next --tz UTC

check "an unknown zone exits 2" 2 "" "unknown time zone 'Mars/Base'" -- next --tz Mars/Base '* * * * *'

check "a bad --from exits 2" 2 "" "cannot read 'yesterday' as an ISO-8601 time" -- next --tz UTC --from yesterday '* * * * *'

check "a negative -n exits 2" 2 "" "-n" -- next -n -1 '* * * * *'

# Without --tz and --from: the local zone and now. Only the shape can be checked.
out="$(TZ=Asia/Kolkata "$sked" next -n 2 '0 0 * * *')"
if [[ "$(echo "$out" | wc -l)" == 2 && "$out" == *"T00:00:00+05:30"* ]]; then
  echo "ok   --tz defaults to the local zone (TZ), --from to now"
else
  echo "FAIL defaults: '$out'"; failures=$((failures + 1))
fi

finish
