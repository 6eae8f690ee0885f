#!/usr/bin/env bash
# cli_test.sh BLAZEDB — checks the command-line contract: command names,
# output shapes, error lines and exit codes, and that bad input changes nothing.
set -uo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0
fail=0

check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; fi
}
code() { "$@" >/dev/null 2>&1; echo $?; }

check "put on a missing database fails with not found" 3 "$(code "$bin" put db bugs '{"a":1}')"
check "the missing database was not created" "no" "$([ -e db ] && echo yes || echo no)"
"$bin" init db >/dev/null
check "init is idempotent" 0 "$(code "$bin" init db)"

id=$("$bin" put db bugs '{"title":"a","status":"open","priority":3}')
check "put prints a generated 26-char id" 26 "${#id}"
check "put --id prints the id" "b2" "$("$bin" put db bugs '{"title":"b","status":"closed","priority":1}' --id b2)"
check "get prints one object with _id first" '{"_id":"b2","priority":1,"status":"closed","title":"b"}' "$("$bin" get db bugs b2)"
"$bin" patch db bugs b2 '{"priority":null,"tags":["x"]}'
check "patch follows RFC 7396" '{"_id":"b2","status":"closed","tags":["x"],"title":"b"}' "$("$bin" get db bugs b2)"
check "query prints JSON lines" 2 "$("$bin" query db bugs | wc -l)"
check "query with WHERE, order, limit" '{"_id":"b2","status":"closed","tags":["x"],"title":"b"}' \
  "$("$bin" query db bugs 'title >= "a"' --order-by title --desc --limit 1)"
check "query --offset" 1 "$("$bin" query db bugs --offset 1 | wc -l)"
check "count" 1 "$("$bin" count db bugs 'status == "open"')"
check "count with --var" 1 "$("$bin" count db bugs 'priority >= $p' --var p=2)"
check "index" 0 "$(code "$bin" index db bugs status)"
check "an indexed query uses the index" 1 "$("$bin" query db bugs 'status == "open"' --explain | grep -c 'USING INDEX')"

err=$("$bin" query db bugs 'status ==' 2>&1 >/dev/null)
check "bad query exit code" 2 "$(code "$bin" query db bugs 'status ==')"
check "bad query error line" "blazedb: error: query column 10:" "${err:0:32}"
check "invalid JSON" 2 "$(code "$bin" put db bugs '{bad')"
check "non-object document" 2 "$(code "$bin" put db bugs '[1,2]')"
check "oversize id" 2 "$(code "$bin" put db bugs '{}' --id "$(printf 'x%.0s' {1..257})")"
check "get of a missing record" 3 "$(code "$bin" get db bugs nope)"
check "delete of a missing record" 3 "$(code "$bin" delete db bugs nope)"
echo "just text" > foreign.txt
check "a foreign file is refused" 4 "$(code "$bin" get foreign.txt bugs x)"
check "the foreign file is untouched" "just text" "$(cat foreign.txt)"
check "unknown command" 2 "$(code "$bin" frobnicate db)"
check "bad input changed nothing" 2 "$("$bin" count db bugs)"

"$bin" export db bugs > out.jsonl
check "export prints every record" 2 "$(wc -l < out.jsonl)"
check "import prints the count" 2 "$("$bin" import db copy out.jsonl)"
check "import keeps ids" "$("$bin" get db bugs b2)" "$("$bin" get db copy b2)"
printf '{"a":1}\n{"a":\n' > bad.jsonl
ierr=$("$bin" import db copy2 bad.jsonl 2>&1 >/dev/null)
check "a bad import line fails" 2 "$(code "$bin" import db copy2 bad.jsonl)"
check "the error names the line" "bad.jsonl:2" "$(echo "$ierr" | grep -o 'bad.jsonl:2')"
check "a failed import imports nothing" 0 "$("$bin" count db copy2)"

"$bin" delete db bugs b2
check "delete" 3 "$(code "$bin" get db bugs b2)"

# watch: start it, write, and read the JSON line it prints.
"$bin" watch db bugs 'status == "open"' > watch.out 2>/dev/null &
wpid=$!
sleep 0.5
"$bin" put db bugs '{"status":"open","n":1}' --id w1 >/dev/null
"$bin" put db bugs '{"status":"closed"}' --id w2 >/dev/null
for _ in $(seq 50); do [ -s watch.out ] && break; sleep 0.1; done
sleep 0.3
kill -INT $wpid
wait $wpid
check "watch exits cleanly on interrupt" 0 "$?"
check "watch prints one line per matching change" 1 "$(wc -l < watch.out)"
check "watch line shape" '"_id":"w1"' "$(grep -o '"_id":"w1"' watch.out)"
check "watch line kind" '"kind":"inserted"' "$(grep -o '"kind":"inserted"' watch.out)"

# sync and changes
"$bin" init s1 >/dev/null; "$bin" init s2 >/dev/null; "$bin" init s3 >/dev/null
"$bin" put s1 bugs '{"t":"one","n":1}' --id x >/dev/null
"$bin" put s2 bugs '{"t":"two"}' --id y >/dev/null
"$bin" patch s1 bugs x '{"n":2}'
summary=$("$bin" sync s1 s2 s3)
check "sync exits 0" 0 "$?"
check "sync prints a JSON summary" '"converged":true' "$(echo "$summary" | grep -o '"converged":true')"
check "every database converged" 1 "$(for d in s1 s2 s3; do "$bin" export $d bugs; done | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ' | grep -c '^3 $')"
check "changes prints one line per change" 3 "$("$bin" changes s3 | wc -l)"
check "changes --since-seq" 1 "$("$bin" changes s1 --since-seq 1 | wc -l)"
check "a change line has origin, seq, hlc, ops" 1 "$("$bin" changes s1 --since-seq 1 | grep -c '"ops":\[{"collection":"bugs","fields":{"n":2},"id":"x","type":"put"}\],"origin":"[0-9a-f]\{16\}","seq":2')"
cp s1 s1copy
check "a copied file takes its own node id and syncs with its original" 0 "$(code "$bin" sync s1 s1copy)"
check "the same file twice cannot sync" 2 "$(code "$bin" sync s1 s1)"
ln s1 s1link
check "a hard link is the same file" 2 "$(code "$bin" sync s1 s1link)"
check "sync needs two databases" 2 "$(code "$bin" sync s1)"
# compact
out=$("$bin" compact s1)
check "compact prints a JSON summary" 1 "$(echo "$out" | grep -c '^{"changes_pruned":[0-9]*,"field_tombstones_purged":0,"horizon":{.*},"tombstones_purged":0}$')"
"$bin" compact s1 --log-horizon-ms 0 >/dev/null
check "compact --log-horizon-ms 0 empties the change log" 0 "$("$bin" changes s1 | wc -l)"
check "compacted data is untouched" '{"_id":"x","n":2,"t":"one"}' "$("$bin" get s1 bugs x)"
"$bin" init s4 >/dev/null
"$bin" sync s1 s4 >/dev/null
check "a new replica of a compacted database is bootstrapped from a snapshot" "$("$bin" export s1 bugs)" "$("$bin" export s4 bugs)"
check "compact refuses a negative horizon" 2 "$(code "$bin" compact s1 --tombstone-horizon-ms -5)"
check "compact on a missing database" 3 "$(code "$bin" compact nowhere.blazedb)"
# Copied and restored files (issue 9 item 10): records written in a copy and
# in its original reach every replica, each syncing only with a third.
ids() { "$bin" export "$1" bugs | grep -o '"_id":"[^"]*"' | cut -d'"' -f4 | sort | tr '\n' ' ' | sed 's/ $//'; }
"$bin" init k1 >/dev/null; "$bin" init k3 >/dev/null
"$bin" put k1 bugs '{"v":0}' --id before-copy >/dev/null
cp k1 k2
"$bin" put k1 bugs '{"v":1}' --id in-original >/dev/null
"$bin" put k2 bugs '{"v":2}' --id in-copy >/dev/null
check "a copy writes under its own node id" 2 \
  "$(for d in k1 k2; do "$bin" changes "$d" | tail -1 | grep -o '"origin":"[0-9a-f]*"'; done | sort -u | wc -l)"
check "sync copy with a third" 0 "$(code "$bin" sync k2 k3)"
check "sync original with the third" 0 "$(code "$bin" sync k1 k3)"
check "sync copy with the third again" 0 "$(code "$bin" sync k2 k3)"
check "every record reached every copy" "before-copy in-copy in-original|before-copy in-copy in-original|before-copy in-copy in-original" \
  "$(ids k1)|$(ids k2)|$(ids k3)"
# A backup restored with mv (a new file) loses nothing.
"$bin" init m1 >/dev/null; "$bin" init m3 >/dev/null
"$bin" put m1 bugs '{}' --id x >/dev/null; "$bin" sync m1 m3 >/dev/null
cp m1 m1.bak
"$bin" put m1 bugs '{}' --id after-backup >/dev/null; "$bin" sync m1 m3 >/dev/null
mv m1.bak m1
"$bin" put m1 bugs '{}' --id after-restore >/dev/null
check "sync of a backup restored with mv" 0 "$(code "$bin" sync m1 m3)"
check "nothing written before or after the restore is lost" "after-backup after-restore x|after-backup after-restore x" \
  "$(ids m1)|$(ids m3)"
# Copied back in place (same inode), not written yet: the first sync notices.
"$bin" init q1 >/dev/null; "$bin" init q3 >/dev/null
"$bin" put q1 bugs '{}' --id x >/dev/null; "$bin" sync q1 q3 >/dev/null
cp q1 q1.bak
"$bin" put q1 bugs '{}' --id after-backup >/dev/null; "$bin" sync q1 q3 >/dev/null
cp q1.bak q1
check "sync of a backup copied back in place" 0 "$(code "$bin" sync q1 q3)"
"$bin" put q1 bugs '{}' --id after-restore >/dev/null
check "it then writes under a fresh node id" 0 "$(code "$bin" sync q1 q3)"
check "no record is lost" "after-backup after-restore x|after-backup after-restore x" "$(ids q1)|$(ids q3)"
# Copied back in place and written before any sync: two different changes
# share an (origin, seq). Reported on every sync, never "converged".
"$bin" init p1 >/dev/null; "$bin" init p3 >/dev/null
"$bin" put p1 bugs '{}' --id x >/dev/null; "$bin" sync p1 p3 >/dev/null
cp p1 p1.bak
"$bin" put p1 bugs '{}' --id after-backup >/dev/null; "$bin" sync p1 p3 >/dev/null
cp p1.bak p1
"$bin" put p1 bugs '{}' --id after-restore >/dev/null
for round in 1 2; do
  out=$("$bin" sync p1 p3 2>perr); rc=$?
  check "a dispute is not converged (sync $round)" '5 "converged":false' "$rc $(echo "$out" | grep -o '"converged":false')"
  check "the reason names the dispute (sync $round)" 1 "$(grep -c 'two different changes claim origin' perr)"
done
# With both logs compacted the disputed changes cannot be compared; the
# states still can: equal version vectors over different records are no convergence.
"$bin" compact p1 --log-horizon-ms 0 >/dev/null; "$bin" compact p3 --log-horizon-ms 0 >/dev/null
out=$("$bin" sync p1 p3 2>/dev/null); rc=$?
check "equal vectors over different records are not converged" '5 "converged":false' "$rc $(echo "$out" | grep -o '"converged":false')"
check "the reason says the records differ" 1 "$(echo "$out" | grep -c '"reason":"the version vectors are equal but the records differ')"
check "each database's digest is printed" 2 "$(echo "$out" | grep -o '"state_digest":"[0-9a-f]\{32\}"' | sort -u | wc -l)"
# A deletion whose tombstone a compaction purged before a peer received it:
# the peer keeps the record; sync says so without blaming a copied file only.
"$bin" init tp1 >/dev/null; "$bin" init tp2 >/dev/null
"$bin" put tp1 bugs '{}' --id gone >/dev/null; "$bin" sync tp1 tp2 >/dev/null
"$bin" delete tp1 bugs gone; "$bin" compact tp1 --log-horizon-ms 0 --tombstone-horizon-ms 0 >/dev/null
out=$("$bin" sync tp1 tp2 2>/dev/null); rc=$?
check "a purged tombstone is no convergence" '5 "converged":false' "$rc $(echo "$out" | grep -o '"converged":false')"
check "the reason names a purged tombstone as a cause" 1 "$(echo "$out" | grep -c 'purged a deletion.s tombstone')"
# A running watch sees every change after a compaction pruned the whole log
# (issue 9 item 11: local_seq must not be reused).
"$bin" init wc >/dev/null
"$bin" put wc bugs '{"n":1}' --id c1 >/dev/null
"$bin" put wc bugs '{"n":2}' --id c2 >/dev/null
"$bin" watch wc bugs > wc.out 2>/dev/null &
wpid=$!
sleep 0.5
"$bin" put wc bugs '{"n":3}' --id c3 >/dev/null
for _ in $(seq 50); do [ -s wc.out ] && break; sleep 0.1; done
"$bin" compact wc --log-horizon-ms 0 >/dev/null
for i in 4 5 6; do "$bin" put wc bugs "{\"n\":$i}" --id c$i >/dev/null; done
for _ in $(seq 50); do [ "$(wc -l < wc.out)" -ge 4 ] && break; sleep 0.1; done
sleep 0.3
kill -INT $wpid
wait $wpid
check "a watch sees every change after compaction emptied the log" "c3 c4 c5 c6" \
  "$(grep -o '"_id":"c[0-9]"' wc.out | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
# A running watch loses no change that `blazedb compact` in another process
# pruned before the watch read it (issue 9 item 11): puts, a patch and a
# delete (its tombstone purged too) made while the watch is stopped come out,
# one line per record, in id order where the gap was.
"$bin" init wg >/dev/null
"$bin" put wg bugs '{"n":0}' --id g0 >/dev/null
"$bin" put wg bugs '{"n":0}' --id gdel >/dev/null
"$bin" watch wg bugs > wg.out 2>wg.err &
wpid=$!
for _ in $(seq 100); do grep -q '^watching' wg.err && break; sleep 0.1; done
"$bin" put wg bugs '{"n":1}' --id g1 >/dev/null
for _ in $(seq 100); do [ -s wg.out ] && break; sleep 0.1; done
kill -STOP $wpid  # reads nothing until it continues: wait until every thread has stopped
for _ in $(seq 100); do
  [ -z "$(awk '$3 != "T"' /proc/$wpid/task/*/stat 2>/dev/null)" ] && break
  sleep 0.05
done
for i in 2 3 4 5 6; do "$bin" put wg bugs "{\"n\":$i}" --id g$i >/dev/null; done
"$bin" patch wg bugs g0 '{"n":9}'
"$bin" delete wg bugs gdel
purged=$("$bin" compact wg --log-horizon-ms 0 --tombstone-horizon-ms 0 | grep -o '"tombstones_purged":[0-9]*')
kill -CONT $wpid
"$bin" put wg bugs '{"n":7}' --id g7 >/dev/null
for _ in $(seq 100); do [ "$(wc -l < wg.out)" -ge 9 ] && break; sleep 0.1; done
sleep 0.3
kill -INT $wpid
wait $wpid
check "the compaction purged the delete's tombstone" '"tombstones_purged":1' "$purged"
check "a watch loses no change compacted away while it was stopped" \
  "g1:inserted g0:updated g2:inserted g3:inserted g4:inserted g5:inserted g6:inserted gdel:deleted g7:inserted" \
  "$(sed -E 's/.*"_id":"([^"]*)".*"kind":"([a-z]*)".*/\1:\2/' wg.out | tr '\n' ' ' | sed 's/ $//')"
check "the recovered update carries the current document" 1 "$(grep -c '"_id":"g0".*"doc":{"n":9}' wg.out)"
# The same race as it was found: puts, each followed at once by a compaction
# in another process, while the watch runs.
"$bin" init wr >/dev/null
"$bin" watch wr bugs > wr.out 2>wr.err &
wpid=$!
for _ in $(seq 100); do grep -q '^watching' wr.err && break; sleep 0.1; done
for i in $(seq 15); do
  "$bin" put wr bugs "{\"n\":$i}" --id r$i >/dev/null
  "$bin" compact wr --log-horizon-ms 0 --tombstone-horizon-ms 0 >/dev/null
done
for _ in $(seq 100); do [ "$(wc -l < wr.out)" -ge 15 ] && break; sleep 0.1; done
sleep 0.3
kill -INT $wpid
wait $wpid
check "a watch beside put+compact loops sees all 15 records once" "15 15" \
  "$(grep -o '"_id":"r[0-9]*"' wr.out | sort -u | wc -l) $(wc -l < wr.out)"
bench=$("$bin" bench local-sync --records 50 --updates 20 --json)
check "bench local-sync runs and converges (durable and in memory)" 2 "$(echo "$bench" | grep -o '"converged":true' | wc -l)"
bench=$("$bin" bench relay --records 50 --updates 20 --samples 5 --json)
check "bench relay runs and converges (relay and two client processes)" 1 "$(echo "$bench" | grep -o '"converged":true' | wc -l)"
bench=$("$bin" bench relay --writers 2 --readers 2 --changes 20 --json)
check "bench relay --writers --readers reports a rate" 1 "$(echo "$bench" | grep -c '"changes_per_s":')"
check "bench relay --writers needs --readers" 2 "$(code "$bin" bench relay --writers 2)"

# keygen / pubkey: hex public key, 0600 file, refusals.
pub=$("$bin" keygen node.key)
check "keygen prints 64 hex digits" 1 "$(echo "$pub" | grep -cE '^[0-9a-f]{64}$')"
check "keygen writes mode 0600" 600 "$(stat -c %a node.key)"
check "pubkey prints the same key" "$pub" "$("$bin" pubkey node.key)"
check "keygen never overwrites" 2 "$(code "$bin" keygen node.key)"
check "the key file is unchanged" "$pub" "$("$bin" pubkey node.key)"
chmod 0644 node.key
kerr=$("$bin" pubkey node.key 2>&1 >/dev/null)
check "a world-readable key file is refused" 2 "$(code "$bin" pubkey node.key)"
check "the refusal says why" "blazedb: error: key file" "${kerr:0:24}"
check "pubkey of a missing file" 3 "$(code "$bin" pubkey absent.key)"
printf 'not a key\n' > junk.key && chmod 0600 junk.key
check "pubkey of a malformed file" 4 "$(code "$bin" pubkey junk.key)"
check "keygen into a missing directory" 3 "$(code "$bin" keygen nodir/x.key)"

# group init / add / list: app groups for cross-app sync.
ginit=$("$bin" group init grp)
check "group init prints a JSON line" '{"apps":0,"created":true,"group":"grp"}' "$ginit"
check "group init makes a 0700 directory" 700 "$(stat -c %a grp)"
check "group init writes a 0600 registry" 600 "$(stat -c %a grp/apps.json)"
check "group init makes a 0700 socket folder" 700 "$(stat -c %a grp/sockets)"
check "group init is idempotent" '{"apps":0,"created":false,"group":"grp"}' "$("$bin" group init grp)"
check "group add registers a key from pubkey" \
  "{\"added\":true,\"app\":\"dashboard\",\"group\":\"grp\",\"public_key\":\"$pub\"}" "$("$bin" group add grp dashboard "$pub")"
check "group add of the same pair is idempotent" '"added":false' "$("$bin" group add grp dashboard "$pub" | grep -o '"added":false')"
check "group list prints the registry" "{\"app\":\"dashboard\",\"public_key\":\"$pub\"}" "$("$bin" group list grp)"
other=$("$bin" keygen other.key)
check "group add: a bad app name" 2 "$(code "$bin" group add grp Dash-Board "$other")"
nerr=$("$bin" group add grp 'a/b' "$other" 2>&1 >/dev/null)
check "group add: the error names the rule" "blazedb: error: APP_NAME: expected an app name" "${nerr:0:46}"
check "group add: a bad key" 2 "$(code "$bin" group add grp reporter abc123)"
check "group add: the same name with another key" 2 "$(code "$bin" group add grp dashboard "$other")"
check "group add: the same key under another name" 2 "$(code "$bin" group add grp reporter "$pub")"
check "refused adds changed nothing" 1 "$("$bin" group list grp | wc -l)"
check "group add: a second app" 0 "$(code "$bin" group add grp reporter "$other")"
check "group list is sorted by name" "dashboard reporter" "$("$bin" group list grp | grep -o '"app":"[a-z]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
check "group add: a missing group" 3 "$(code "$bin" group add nogroup dashboard "$pub")"
mkdir plain && echo x > plain/file
check "group init refuses a non-empty directory" 2 "$(code "$bin" group init plain)"
chmod 0755 grp
gerr=$("$bin" group add grp third "$other" 2>&1 >/dev/null)
check "a group open to others is refused" 2 "$(code "$bin" group list grp)"
check "the refusal says why" "blazedb: error: app group directory 'grp' has mode 0755" "${gerr:0:55}"
check "group init refuses it too" 2 "$(code "$bin" group init grp)"
chmod 0700 grp
echo garbage > grp/apps.json
check "a corrupt registry" 4 "$(code "$bin" group list grp)"
check "group needs a subcommand" 2 "$(code "$bin" group)"

# ---- issue 9, items 12-17 ----

# import from a pipe: "-" (stdin), /dev/stdin, <(...) all import every line.
printf '{"n":1}\n{"n":2}\n{"n":3}\n' > three.jsonl
check "import - reads stdin" 3 "$(cat three.jsonl | "$bin" import db piped1 -)"
check "import /dev/stdin reads a pipe" 3 "$(cat three.jsonl | "$bin" import db piped2 /dev/stdin)"
check "import <(...) reads a pipe" 3 "$("$bin" import db piped3 <(cat three.jsonl))"
check "piped records are stored" 3 "$("$bin" count db piped3)"
printf '{"n":1}\n{"n":2}\0{"n":3}\n' > nul.jsonl
nerr=$("$bin" import db nulcoll nul.jsonl 2>&1 >/dev/null)
check "a raw NUL in a line is refused" 2 "$(code "$bin" import db nulcoll nul.jsonl)"
check "the NUL error names the line" "nul.jsonl:2: invalid JSON: a NUL byte" "$(echo "$nerr" | grep -o 'nul.jsonl:2: invalid JSON: a NUL byte')"
check "a NUL line imports nothing" 0 "$("$bin" count db nulcoll)"
check "import of a directory is refused" 2 "$(code "$bin" import db dircoll .)"

# write errors on stdout: exit 4 with a message, never 0 with lost output.
for cmd in "export db bugs" "query db bugs" "get db bugs w1" "count db bugs" "changes db" \
           "put db full '{\"a\":1}'" "sync s1 s2" "compact s2" "group init grpfull" "pubkey other.key" "init db"; do
  ferr=$(eval "\"$bin\" $cmd" 2>&1 >/dev/full)
  check "$cmd > /dev/full exits 4" 4 "$(eval "\"$bin\" $cmd" >/dev/full 2>/dev/null; echo $?)"
  check "$cmd > /dev/full says why" 1 "$(echo "$ferr" | grep -c '^blazedb: error: writing to standard output failed')"
done
# watch stops at its first lost line instead of printing into the void.
"$bin" watch db wfull > /dev/full 2>watchfull.err &
wfpid=$!
sleep 0.5
"$bin" put db wfull '{"a":1}' >/dev/null
for _ in $(seq 100); do kill -0 $wfpid 2>/dev/null || break; sleep 0.1; done
kill -0 $wfpid 2>/dev/null && kill -INT $wfpid
wait $wfpid
check "watch > /dev/full exits 4 by itself" 4 "$?"
check "watch > /dev/full says why" 1 "$(grep -c '^blazedb: error: writing to standard output failed' watchfull.err)"

# concurrent processes: 4 writers x 25 puts and 2 readers, every one succeeds.
"$bin" init conc >/dev/null
"$bin" put conc c '{"x":0}' --id g >/dev/null
for w in 1 2 3 4; do
  (for i in $(seq 25); do "$bin" put conc c "{\"w\":$w}" --id "w$w-$i" >/dev/null 2>>conc.err || echo F; done) > conc.w$w &
done
for r in 1 2; do
  (for i in $(seq 25); do "$bin" get conc c g >/dev/null 2>>conc.err || echo F; done) > conc.r$r &
done
wait
check "concurrent puts and gets all succeed" 0 "$(cat conc.w* conc.r* | wc -l)"
check "no 'database is locked'" 0 "$(cat conc.err 2>/dev/null | grep -c locked)"
check "every concurrent put is stored" 101 "$("$bin" count conc c)"
# sync while another process keeps writing: converges on what was there at its start.
"$bin" init sw1 >/dev/null; "$bin" init sw2 >/dev/null
for i in $(seq 10); do "$bin" put sw1 c '{"a":1}' >/dev/null; done
(for i in $(seq 150); do "$bin" put sw1 c "{\"i\":$i}" >/dev/null || echo F; done) > sw.writer &
swfail=0
for k in $(seq 8); do "$bin" sync sw1 sw2 >/dev/null 2>>sw.err || swfail=$((swfail + 1)); done
wait
check "sync beside a writer converges every time" 0 "$swfail"
check "the writer never failed" 0 "$(wc -l < sw.writer)"
"$bin" sync sw1 sw2 >/dev/null
check "a final sync carries the rest" "$("$bin" count sw1 c)" "$("$bin" count sw2 c)"

# a zero-byte file: only init makes it a database; everything else refuses it untouched.
: > zero.blazedb
for cmd in "get zero.blazedb c x" "put zero.blazedb c {}" "patch zero.blazedb c x {}" "delete zero.blazedb c x" \
           "query zero.blazedb c" "count zero.blazedb c" "export zero.blazedb c" "index zero.blazedb c f" \
           "import zero.blazedb c three.jsonl" "changes zero.blazedb" "compact zero.blazedb" "sync zero.blazedb s1" \
           "watch zero.blazedb c"; do
  check "$cmd refuses an empty file" 3 "$(timeout 10 "$bin" $cmd >/dev/null 2>&1; echo $?)"
  check "$cmd leaves it empty" "0 no" "$(stat -c %s zero.blazedb) $([ -e zero.blazedb-wal ] || [ -e zero.blazedb-shm ] && echo yes || echo no)"
done
zerr=$("$bin" get zero.blazedb c x 2>&1)
check "the refusal says it is empty" 1 "$(echo "$zerr" | grep -c "^blazedb: error: 'zero.blazedb' is an empty file (0 bytes)")"
check "init turns an empty file into a database" "initialized zero.blazedb" "$("$bin" init zero.blazedb | cut -d' ' -f1-2)"

# watch refuses an invalid collection name at once (it used to wait forever).
check "watch with an empty collection name" 2 "$(timeout 10 "$bin" watch db '' >/dev/null 2>&1; echo $?)"
check "watch with an oversize collection name" 2 "$(timeout 10 "$bin" watch db "$(printf 'c%.0s' {1..257})" >/dev/null 2>&1; echo $?)"
# an id with a NUL prints whole.
check "put prints an id with a NUL in full" "a\\0b\\n" "$("$bin" put db nulid '{"_id":"a\u0000b"}' | od -An -c | tr -d ' ')"
check "the record reads back with its id escaped" '{"_id":"a\u0000b"}' "$("$bin" export db nulid)"
# numeric flags out of range are refused, never wrapped or clamped.
for flagcmd in "query db bugs --limit -1" "query db bugs --limit 99999999999999999999" "query db bugs --offset -1" \
               "query db bugs --limit 1.5" "changes db --since-seq -1" "changes db --since-seq 18446744073709551615" \
               "compact s2 --log-horizon-ms -1" "compact s2 --tombstone-horizon-ms 9223372036854775808" \
               "bench local-sync --replicas 17" "bench local-sync --records 0" "bench local-sync --updates 4294967296" \
               "bench relay --records 0" "bench relay --samples 0" "bench relay --writers 65 --readers 1" \
               "connect --group grp --db x --identity node.key --replica r.blazedb --once --timeout-ms 2147483648"; do
  ferr=$("$bin" $flagcmd 2>&1 >/dev/null)
  check "$flagcmd is refused" 2 "$(code "$bin" $flagcmd)"
  check "$flagcmd names the range" 1 "$(echo "$ferr" | grep -c 'expected an integer from')"
done

# read-only access: a database the user cannot write. Root ignores file
# modes, so this runs the commands as two other users with setpriv.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  shared=$(mktemp -d /tmp/blazeshared-XXXXXX)
  chmod 1777 "$shared"
  cp "$bin" "$shared/blazedb"
  chmod 0755 "$shared/blazedb"
  owner=(setpriv --reuid=64101 --regid=64101 --clear-groups)
  reader=(setpriv --reuid=64102 --regid=64102 --clear-groups)
  ro="$shared/ro.blazedb"
  "${owner[@]}" "$shared/blazedb" init "$ro" >/dev/null
  "${owner[@]}" "$shared/blazedb" put "$ro" bugs '{"t":1}' --id r1 >/dev/null
  chmod 0644 "$ro"
  check "another user reads a file it cannot write (get)" '{"_id":"r1","t":1}' "$("${reader[@]}" "$shared/blazedb" get "$ro" bugs r1 2>&1)"
  check "... (count)" 1 "$("${reader[@]}" "$shared/blazedb" count "$ro" bugs 2>&1)"
  check "... (query)" 1 "$("${reader[@]}" "$shared/blazedb" query "$ro" bugs 2>&1 | wc -l)"
  check "... (export)" '{"_id":"r1","t":1}' "$("${reader[@]}" "$shared/blazedb" export "$ro" bugs 2>&1)"
  check "... (changes)" 1 "$("${reader[@]}" "$shared/blazedb" changes "$ro" 2>&1 | wc -l)"
  check "a write by that user is refused (exit 2)" 2 "$("${reader[@]}" "$shared/blazedb" put "$ro" bugs '{}' >/dev/null 2>&1; echo $?)"
  check "watch by that user is refused (exit 2)" 2 "$("${reader[@]}" timeout 10 "$shared/blazedb" watch "$ro" bugs >/dev/null 2>&1; echo $?)"
  check "the reader left no -wal/-shm behind" "no" "$([ -e "$ro-wal" ] || [ -e "$ro-shm" ] && echo yes || echo no)"
  check "the owner still writes afterwards" r2 "$("${owner[@]}" "$shared/blazedb" put "$ro" bugs '{"t":2}' --id r2 2>&1)"
  # while the owner has it open (its -wal and -shm exist), the reader reads through them
  "${owner[@]}" "$shared/blazedb" watch "$ro" bugs >/dev/null 2>&1 &
  opid=$!
  for _ in $(seq 50); do [ -e "$ro-shm" ] && break; sleep 0.1; done
  "${owner[@]}" "$shared/blazedb" put "$ro" bugs '{"t":3}' --id r3 >/dev/null
  check "a reader sees the running owner's latest commit" '{"_id":"r3","t":3}' "$("${reader[@]}" "$shared/blazedb" get "$ro" bugs r3 2>&1)"
  check "the owner's files stay the owner's" "64101 64101" "$(stat -c %u "$ro-wal") $(stat -c %u "$ro-shm")"
  kill -INT $opid; wait $opid
  check "the owner writes after a reader met its running process" r4 "$("${owner[@]}" "$shared/blazedb" put "$ro" bugs '{}' --id r4 2>&1)"
  # a read-only directory: its own owner can read but not write
  mkdir "$shared/rodir" && chown 64101:64101 "$shared/rodir"
  "${owner[@]}" "$shared/blazedb" init "$shared/rodir/d.blazedb" >/dev/null
  "${owner[@]}" "$shared/blazedb" put "$shared/rodir/d.blazedb" bugs '{}' --id d1 >/dev/null
  chmod 0555 "$shared/rodir"
  check "a database in a read-only directory can be read" 1 "$("${owner[@]}" "$shared/blazedb" count "$shared/rodir/d.blazedb" bugs 2>&1)"
  check "... and a write is refused (exit 2), not half done" 2 "$("${owner[@]}" "$shared/blazedb" put "$shared/rodir/d.blazedb" bugs '{}' >/dev/null 2>&1; echo $?)"
  chmod 0755 "$shared/rodir"
  rm -rf "$shared"
else
  echo "SKIP read-only access as another user: needs root and setpriv to run commands as two other users"
fi

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
