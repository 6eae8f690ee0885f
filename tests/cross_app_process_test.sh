#!/usr/bin/env bash
# cross_app_process_test.sh BLAZEDB — cross-app sync between real processes:
# an owner (`blazedb share`) and reader apps (`blazedb connect`), each its own
# process with its own key and file. Checks live propagation both ways, that
# what the policy withholds never reaches a replica *file*, eviction and
# re-entry across a `where`, refusal of forbidden writes and unknown keys, a
# policy reload, recovery from `kill -9` of the owner and of a reader, a
# replica restored in place and written offline, `connect --owner`, and the
# modes of the files created.
set -uo pipefail
bin=$1
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
pass=0
fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; fi
}
code() { "$@" >/dev/null 2>&1; echo $?; }
# until CMD...: retries for up to 15 s; prints ok or timeout.
until_ok() {
  for _ in $(seq 1 300); do
    if eval "$1" >/dev/null 2>&1; then echo ok; return; fi
    sleep 0.05
  done
  echo timeout
}
# Bytes of a database file and its WAL: what "reached the replica" means.
file_has() { cat "$1" "$1-wal" 2>/dev/null | grep -c -a "$2"; }

"$bin" group init grp >/dev/null
for app in bugtracker dashboard stats stranger; do "$bin" keygen $app.key >/dev/null; done
for app in bugtracker dashboard stats; do "$bin" group add grp $app "$("$bin" pubkey $app.key)" >/dev/null; done
cat >policy.json <<'EOF'
{ "apps": {
    "dashboard": { "collections": {
        "bugs":     { "access": "read", "fields": { "exclude": ["internalNotes"] }, "where": "team == \"mobile\"" },
        "comments": { "access": "read-write" } } },
    "*": { "collections": { "releases": { "access": "read" } } } } }
EOF
"$bin" init bugs.blazedb >/dev/null
"$bin" put bugs.blazedb bugs '{"title":"crash","team":"mobile","internalNotes":"ssh-key-123"}' --id m1 >/dev/null
"$bin" put bugs.blazedb bugs '{"title":"css","team":"web","internalNotes":"n"}' --id w1 >/dev/null
"$bin" put bugs.blazedb releases '{"v":"1.0"}' --id r1 >/dev/null
"$bin" put bugs.blazedb secrets '{"token":"tok-999"}' --id s1 >/dev/null

start_owner() {
  "$bin" share bugs.blazedb --group grp --identity bugtracker.key --policy policy.json >owner.out 2>>owner.err &
  owner=$!
  pids+=("$owner")
  check "the owner serves" ok "$(until_ok 'grep -q serving owner.out')"
}
start_reader() {  # start_reader APP
  "$bin" connect --group grp --db bugs.blazedb --identity $1.key --replica $1.blazedb >$1.out 2>>$1.err &
  eval "$1_pid=$!"
  pids+=("$!")
}

start_owner
check "a second owner of the same database is refused" 2 \
  "$(code "$bin" share bugs.blazedb --group grp --identity bugtracker.key --policy policy.json)"
start_reader dashboard
start_reader stats

# What the policy grants, and only that, reaches each replica.
check "dashboard receives its mobile bug" ok "$(until_ok '"$bin" get dashboard.blazedb bugs m1')"
check "excluded fields are stripped" '{"_id":"m1","team":"mobile","title":"crash"}' "$("$bin" get dashboard.blazedb bugs m1)"
check "filtered rows do not arrive" 3 "$(code "$bin" get dashboard.blazedb bugs w1)"
check "\"*\" grants releases to every app" ok "$(until_ok '"$bin" get stats.blazedb releases r1')"
check "stats gets no bugs" 0 "$("$bin" count stats.blazedb bugs)"
check "the excluded value is nowhere in the replica file" 0 "$(file_has dashboard.blazedb ssh-key-123)"
check "the filtered row's id is nowhere in the replica file" 0 "$(file_has dashboard.blazedb '"w1"')"
check "the denied collection is nowhere in the replica file" 0 "$(file_has dashboard.blazedb tok-999)"

# Live, owner -> readers, including a row crossing the where.
"$bin" patch bugs.blazedb bugs m1 '{"title":"crash on start"}' >/dev/null
check "an owner update arrives" ok "$(until_ok '"$bin" get dashboard.blazedb bugs m1 | grep -q "crash on start"')"
"$bin" patch bugs.blazedb bugs m1 '{"team":"web"}' >/dev/null
check "a row leaving the where is evicted" ok "$(until_ok '! "$bin" get dashboard.blazedb bugs m1')"
check "evicted locally only: the owner keeps it" 0 "$(code "$bin" get bugs.blazedb bugs m1)"
"$bin" patch bugs.blazedb bugs w1 '{"team":"mobile"}' >/dev/null
check "a row entering the where arrives whole" ok \
  "$(until_ok '[ "$("$bin" get dashboard.blazedb bugs w1)" == "{\"_id\":\"w1\",\"team\":\"mobile\",\"title\":\"css\"}" ]')"

# Live, reader -> owner (read-write collection), and a forbidden write.
"$bin" put dashboard.blazedb comments '{"text":"from dashboard"}' --id c1 >/dev/null
check "a reader's write reaches the owner" ok "$(until_ok '"$bin" get bugs.blazedb comments c1')"
# A plain handle on the replica file (another process) is held to the grant
# too: the file keeps it as its write scope.
check "a raw write to a read-only collection of the replica is refused" 2 \
  "$(code "$bin" patch dashboard.blazedb bugs w1 '{"title":"defaced"}')"
check "a raw write to a denied collection of the replica is refused" 2 \
  "$(code "$bin" put dashboard.blazedb secrets '{"token":"mine"}' --id s9)"
check "the replica still holds the owner's row" '"title":"css"' "$("$bin" get dashboard.blazedb bugs w1 | grep -o '"title":"css"')"
"$bin" put dashboard.blazedb comments '{"text":"after the refused one"}' --id c2 >/dev/null
check "granted raw writes still travel" ok "$(until_ok '"$bin" get bugs.blazedb comments c2')"
check "the forbidden write never reached the owner" '"title":"css"' "$("$bin" get bugs.blazedb bugs w1 | grep -o '"title":"css"')"

# An unregistered key is refused.
check "an unregistered app cannot connect" 2 \
  "$(code "$bin" connect --group grp --db bugs.blazedb --identity stranger.key --replica stranger.blazedb --once)"

# Policy reload at run time (SIGHUP): comments hidden, every team visible.
cp policy.json policy.orig
sed -i 's/"comments": { "access": "read-write" }/"notes": { "access": "read" }/; s/, "where": "team == \\"mobile\\""//' policy.json
kill -HUP "$owner"
check "newly visible rows arrive after a reload" ok "$(until_ok '"$bin" get dashboard.blazedb bugs m1')"
check "newly hidden collections are evicted" ok "$(until_ok '[ "$("$bin" count dashboard.blazedb comments)" == 0 ]')"
cp policy.orig policy.json
kill -HUP "$owner"
check "and back" ok "$(until_ok '[ "$("$bin" count dashboard.blazedb comments)" == 2 ]')"

# The owner is killed: replicas keep serving reads; writes on both sides
# meanwhile; after a restart (stale socket replaced) everything converges.
kill -9 "$owner"; wait "$owner" 2>/dev/null
check "a replica still answers queries without the owner" 1 "$("$bin" count dashboard.blazedb bugs 'team == "mobile"')"
"$bin" put bugs.blazedb bugs '{"title":"while away","team":"mobile"}' --id m3 >/dev/null
"$bin" put dashboard.blazedb comments '{"text":"offline"}' --id c3 >/dev/null
start_owner
check "the owner's writes made while it was down arrive" ok "$(until_ok '"$bin" get dashboard.blazedb bugs m3')"
check "the reader's offline write arrives" ok "$(until_ok '"$bin" get bugs.blazedb comments c3')"
check "nothing lost or duplicated" "3 3" "$("$bin" count bugs.blazedb comments) $("$bin" count dashboard.blazedb comments)"

# A reader is killed and restarted: it resumes from its checkpoint.
kill -9 "$dashboard_pid"; wait "$dashboard_pid" 2>/dev/null
for i in 1 2 3; do "$bin" put bugs.blazedb bugs "{\"title\":\"b$i\",\"team\":\"mobile\"}" --id n$i >/dev/null; done
once=$("$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica dashboard.blazedb --once 2>>dashboard.err)
check "the restarted reader catches up" '"caught_up":true' "$(echo "$once" | grep -o '"caught_up":true')"
check "it downloads only what it lacked (3 records)" '"records_received":3' "$(echo "$once" | grep -o '"records_received":[0-9]*')"
check "the replica is a BlazeDB file the CLI reads" 5 "$("$bin" count dashboard.blazedb bugs)"

# A replica put back from a backup in place (cp over it keeps the inode)
# and written before it reconnects: its offline write reuses a seq the owner
# holds from the write made after the backup. connect --once says caught up
# only once the offline write reached the owner and the lost one came back.
cp dashboard.blazedb dash.backup
"$bin" put dashboard.blazedb comments '{"text":"after the backup"}' --id c4 >/dev/null
"$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica dashboard.blazedb --once >/dev/null 2>>dashboard.err
check "the write after the backup reached the owner" 0 "$(code "$bin" get bugs.blazedb comments c4)"
cp dash.backup dashboard.blazedb
"$bin" put dashboard.blazedb comments '{"text":"written offline on the restored file"}' --id c5 >/dev/null
once=$("$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica dashboard.blazedb --once 2>>dashboard.err)
check "the restored reader catches up" '"caught_up":true' "$(echo "$once" | grep -o '"caught_up":true')"
check "its offline write reached the owner" 0 "$(code "$bin" get bugs.blazedb comments c5)"
check "the write its backup lacked came back to it" 0 "$(code "$bin" get dashboard.blazedb comments c4)"
check "both hold the same comments" "5 5" "$("$bin" count bugs.blazedb comments) $("$bin" count dashboard.blazedb comments)"

# The owner can be required by name; files are created owner-only.
check "--owner naming an unknown app is refused" 3 \
  "$(code "$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica o1.blazedb --owner nobody --once)"
check "--owner naming another app refuses the real server" 4 \
  "$(code "$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica o2.blazedb --owner stats --once --timeout-ms 1000)"
check "--owner naming the server connects" '"caught_up":true' \
  "$("$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica o3.blazedb --owner bugtracker --once 2>/dev/null | grep -o '"caught_up":true')"
check "database and replica files are created 0600" "600 600 600" \
  "$(stat -c %a bugs.blazedb) $(stat -c %a dashboard.blazedb) $(stat -c %a o3.blazedb)"

kill -TERM "$owner"; wait "$owner" 2>/dev/null
check "share prints a summary when stopped" 1 "$(grep -c '"stopped":true' owner.out)"
echo "cross_app_process_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
