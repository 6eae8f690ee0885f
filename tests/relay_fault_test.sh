#!/usr/bin/env bash
# relay_fault_test.sh BLAZEDB — fault and randomized proofs of network sync
# between real processes on loopback (issue 10, "Proof"):
#   1. the relay is killed (-9) and restarted at random points while clients
#      write and `sync --once` in loops: nothing a client saw acknowledged is
#      lost, nothing is duplicated, every replica converges;
#   2. a client is killed (-9) in the middle of catching up a large
#      database: it converges on restart and the relay serves others meanwhile;
#   3. randomized: K clients write, sync, go live and get killed, the relay
#      is killed and restarted, all from a seeded RNG printed on failure.
# Counts are small for CI; the long run (docs/relay.md, "Testing"):
#   BLAZE_FAULT_ROUNDS=50 BLAZE_RANDOM_STEPS=400 bash relay_fault_test.sh BLAZEDB
# BLAZE_RANDOM_SEED=N replays a randomized run's choices.
set -uo pipefail
bin=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
source "$here/relay_test_lib.sh"
rounds=${BLAZE_FAULT_ROUNDS:-5}
steps=${BLAZE_RANDOM_STEPS:-40}
seed=${BLAZE_RANDOM_SEED:-$(( $(date +%s%N) % 1000000 ))}
started=$(date +%s)

write_access alice bob carol dave zed
start_relay

# ---- 1. relay kill -9 at random points while clients write and sync --------
# writer USER DIR: until ./stop exists, put a record of its own and patch its
# field of the shared record, then `sync --once`; after each sync that exits
# 0 (caught up: the relay acknowledged everything up to it) DIR.acked holds
# the last i it covered. DIR.written holds the last i put.
writer() {
  local user=$1 dir=$2 i=0
  while [ ! -f stop ]; do
    i=$((i + 1))
    "$bin" put "$dir/bugs.blazedb" bugs "{\"by\":\"$dir\",\"i\":$i}" --id "$dir-$i" >/dev/null || echo "put $i" >>"$dir.errors"
    "$bin" patch "$dir/bugs.blazedb" bugs shared "{\"$dir\":$i}" >/dev/null || echo "patch $i" >>"$dir.errors"
    echo "$i" >"$dir.written"
    if [ "$("$bin" sync "$dir/bugs.blazedb" --relay "$url" --identity "$user.key" --relay-key "$relay_key" \
            --once --timeout-ms 3000 >"$dir.w.out" 2>"$dir.w.err"; echo $?)" == 0 ]; then
      grep -q '"caught_up":true' "$dir.w.out" && echo "$i" >"$dir.acked"
    fi
  done
}
clients=("alice a" "bob b" "carol c")
for pair in "${clients[@]}"; do read -r u d <<<"$pair"; new_client "$d"; echo 0 >"$d.acked"; done
"$bin" put a/bugs.blazedb bugs '{"created":"a"}' --id shared >/dev/null
check "the shared record reaches everyone" ok "$(converge "${clients[@]}")"
RANDOM=$seed
writers=()
for pair in "${clients[@]}"; do read -r u d <<<"$pair"; writer "$u" "$d" & writers+=($!); pids+=($!); done
kills=0
for round in $(seq 1 "$rounds"); do
  sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"    # 0.10 .. 0.99 s of writing and syncing
  kill_relay -9
  kills=$((kills + 1))
  [ $((RANDOM % 2)) == 0 ] && sleep "0.$((RANDOM % 5))"    # down for a while, or back at once
  start_relay || break
done
sleep 0.5
touch stop
wait "${writers[@]}"
# One more kill -9 with nothing in flight, then a fresh client pulls: the
# relay's replica must hold every change a client saw acknowledged.
kill_relay -9
kills=$((kills + 1))
start_relay
new_client z
check "a fresh client pulls from the restarted relay" 0 "$(sync_once zed z)"
"$bin" export z/bugs.blazedb bugs >z.export
total=0
for pair in "${clients[@]}"; do
  read -r u d <<<"$pair"
  acked=$(cat "$d.acked"); written=$(cat "$d.written")
  total=$((total + written))
  missing=0
  for i in $(seq 1 "$acked"); do grep -q "\"_id\":\"$d-$i\"" z.export || missing=$((missing + 1)); done
  check "no change of $d acknowledged by the relay is lost ($acked acked of $written)" 0 "$missing"
  check "$d's puts and patches never failed" 0 "$(cat "$d.errors" 2>/dev/null | wc -l)"
done
check "every client converges after $kills relay kills" ok "$(converge "${clients[@]}" "zed z")"
check "all replicas identical" ok "$(exports_equal a b c z && echo ok)"
check "one record per put, none duplicated or lost" "$((total + 1))" "$(wc -l <a.export)"
for pair in "${clients[@]}"; do
  read -r u d <<<"$pair"
  check "the shared record holds $d's last patch" "\"$d\":$(cat "$d.written")" "$(grep -o "\"$d\":[0-9]*" <(grep '"_id":"shared"' a.export))"
done
# Each (origin, seq) once in every log, and as many changes as were made: the
# shared put + a put and a patch per iteration.
for d in a b c z; do
  "$bin" changes "$d/bugs.blazedb" | sed 's/.*"origin":"\([0-9a-f]*\)","seq":\([0-9]*\).*/\1 \2/' >"$d.changes"
  check "$d's change log has no duplicate" "" "$(sort "$d.changes" | uniq -d | head -3)"
  check "$d's change log holds every change" "$((2 * total + 1))" "$(wc -l <"$d.changes")"
done
echo "relay kill -9: $kills kills, $total writes per client summed, $((2 * total + 1)) changes, $(( $(date +%s) - started )) s"
rm -f stop

# ---- 2. a client killed -9 in the middle of catching up -------------------
# The big client's history is many changes (50 imports of 1000 records), so
# catching up takes many batches.
new_client big
for n in $(seq 0 49); do
  seq $((n * 1000 + 1)) $((n * 1000 + 1000)) |
    awk '{printf "{\"_id\":\"big-%d\",\"n\":%d,\"pad\":\"0123456789012345678901234567890123456789\"}\n",$1,$1}' |
    "$bin" import big/bugs.blazedb bugs - >/dev/null
done
check "the big database reaches the relay" 0 "$(sync_once dave big 60000)"
new_client f
"$bin" put f/bugs.blazedb bugs '{"by":"f before the kill"}' --id f-own >/dev/null
out_before=$(metric blazedb_relay_bytes_out_total)
"$bin" sync f/bugs.blazedb --relay "$url" --identity alice.key --relay-key "$relay_key" --once \
  --timeout-ms 60000 >f.first.out 2>f.first.err &
catcher=$!
pids+=("$catcher")
# Kill it once the relay has sent it 256 KiB of the ~5 MB it lacks.
check "the relay starts sending f its catch-up" ok \
  "$(until_ok '[ "$(metric blazedb_relay_bytes_out_total)" -gt $((out_before + 262144)) ]' 600)"
kill -9 "$catcher"
check "f is killed before it caught up" 0 "$?"
wait "$catcher" 2>/dev/null
at_kill=$("$bin" count f/bugs.blazedb bugs)
echo "client killed mid-catch-up holding $at_kill of $((50000 + total + 3)) records"
check "f's file opens after the kill, without all of it" ok "$([ "$at_kill" -ge 1 ] && [ "$at_kill" -lt 50000 ] && echo ok)"
"$bin" put b/bugs.blazedb bugs '{"by":"b while f was killed"}' --id b-during >/dev/null
check "the relay serves another client meanwhile" 0 "$(sync_once bob b)"
check "/health is ok" 1 "$(http_get /health | grep -c '"status":"ok"')"
check "f catches up after the restart" 0 "$(sync_once alice f 60000)"
check "f received only what it lacked" ok "$(r=$(sed -n 's/.*"changes_received":\([0-9]*\).*/\1/p' f.sync.out); [ "$r" -le $((50 + 2 * total + 3)) ] && echo ok)"
check "big, b and f converge" ok "$(converge "dave big" "bob b" "alice f")"
check "identical exports" ok "$(exports_equal big b f && echo ok)"
check "f's own write reached the others" 1 "$(grep -c 'f before the kill' b.export)"
check "nothing lost: 50000 + shared + f-own + b-during + earlier" "$((50000 + total + 3))" "$(wc -l <f.export)"

# ---- 3. randomized convergence -------------------------------------------
RANDOM=$seed
k=3
rclients=()
declare -A live
users=(alice bob carol)
for j in $(seq 0 $((k - 1))); do new_client "r$j"; rclients+=("${users[$j]} r$j"); live[$j]=""; done
relay_up=1
for step in $(seq 1 "$steps"); do
  j=$((RANDOM % k)); db="r$j/bugs.blazedb"; id="rec-$((RANDOM % 12))"
  case $((RANDOM % 12)) in
    0|1|2) "$bin" put "$db" bugs "{\"v\":$RANDOM,\"w\":\"r$j\"}" --id "$id" >/dev/null ;;
    3|4) "$bin" patch "$db" bugs "$id" "{\"f$((RANDOM % 3))\":$RANDOM}" >/dev/null 2>&1 ||
           "$bin" put "$db" bugs "{\"p\":$RANDOM}" --id "$id" >/dev/null ;;
    5) "$bin" delete "$db" bugs "$id" >/dev/null 2>&1 ;;
    6|7) [ $relay_up == 1 ] && sync_once "${users[$j]}" "r$j" 3000 >/dev/null ;;
    8|9) if [ -n "${live[$j]}" ]; then kill -9 "${live[$j]}"; wait "${live[$j]}" 2>/dev/null; live[$j]=""
         else
           "$bin" sync "$db" --relay "$url" --identity "${users[$j]}.key" --relay-key "$relay_key" \
             >"r$j.live.out" 2>"r$j.live.err" &
           live[$j]=$!; pids+=($!)
         fi ;;
    10) kill_relay -9; relay_up=0 ;;
    11) if [ $relay_up == 0 ]; then start_relay; relay_up=1; fi; sleep "0.0$((RANDOM % 10))" ;;
  esac
done
for j in "${!live[@]}"; do [ -n "${live[$j]}" ] && { kill -9 "${live[$j]}"; wait "${live[$j]}" 2>/dev/null; }; done
[ $relay_up == 0 ] && start_relay
r=$(converge "${rclients[@]}")
check "randomized run converges (seed $seed, $steps steps)" ok "$r"
check "randomized run: identical exports (seed $seed)" ok "$(exports_equal r0 r1 r2 && echo ok)"
[ "$fail" -eq 0 ] || echo "replay with BLAZE_RANDOM_SEED=$seed BLAZE_RANDOM_STEPS=$steps BLAZE_FAULT_ROUNDS=$rounds"

kill_relay -TERM
echo "relay faults: $pass passed, $fail failed ($(( $(date +%s) - started )) s, seed $seed)"
[ "$fail" -eq 0 ]
