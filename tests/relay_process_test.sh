#!/usr/bin/env bash
# relay_process_test.sh BLAZEDB — network sync between real processes on
# loopback: a relay (`blazedb serve`) and clients (`blazedb sync DB --relay
# ... --once`), each its own process with its own key and file. Checks
# convergence of two and of four clients (compared by `blazedb export`), a
# relay list whose first relay is down, a
# client offline while others write catching up, refusals (unknown key, wrong
# relay key, database not in the access file), /health and /metrics, a SIGHUP
# reload letting a new user in, a relay `kill -9` and restart on the same
# data directory losing nothing acknowledged, and SIGTERM exiting 0.
set -uo pipefail
bin=$(realpath "$1")
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
until_ok() {  # until_ok 'CMD': retries for up to 15 s; prints ok or timeout
  for _ in $(seq 1 300); do
    if eval "$1" >/dev/null 2>&1; then echo ok; return; fi
    sleep 0.05
  done
  echo timeout
}
# http_get PATH: the body of GET PATH on the relay (bash /dev/tcp, no curl needed).
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
  timeout 5 cat <&3 | sed '1,/^\r$/d'
  exec 3<&-
}

for k in relay alice bob carol dave erin stranger; do "$bin" keygen $k.key >/dev/null; done
key() { "$bin" pubkey "$1.key"; }
write_access() {  # write_access USER...: those users on "bugs"; alice alone on "secret"
  local users="" list=""
  for u in "$@"; do
    users+="${users:+,}\"$u\":{\"keys\":[\"$(key "$u")\"]}"
    list+="${list:+,}\"$u\""
  done
  printf '{"users":{%s},"databases":{"bugs":{"mode":"smart","users":[%s]},"secret":{"mode":"smart","users":["alice"]}}}\n' \
    "$users" "$list" >access.json
}
write_access alice bob carol dave
mkdir data

start_relay() {
  : >relay.out
  "$bin" serve --listen 127.0.0.1:0 --data data --identity relay.key --access access.json >relay.out 2>>relay.err &
  relay=$!
  pids+=("$relay")
  check "the relay prints its ready line" ok "$(until_ok 'grep -q listening relay.out')"
  port=$(sed -n 's/.*"listening":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' relay.out)
  relay_key=$(sed -n 's/.*"public_key":"\([0-9a-f]*\)".*/\1/p' relay.out)
  url="ws://127.0.0.1:$port/sync"
}
serve_code() {  # serve_code LISTEN DATA ACCESS [FLAG...]: the exit code of a serve that must not start
  "$bin" serve --listen "$1" --data "$2" --identity relay.key --access "$3" "${@:4}" >/dev/null 2>serve_code.err
  echo $?
}
check "a port out of range is refused" 2 "$(serve_code 127.0.0.1:70000 data access.json)"
check "a missing data directory is refused" 2 "$(serve_code 127.0.0.1:0 nowhere access.json)"
check "the message names the directory" 1 "$(grep -c "nowhere" serve_code.err)"
check "a missing access file is refused" 3 "$(serve_code 127.0.0.1:0 data nowhere.json)"
check "a limit out of range is refused" 2 "$(serve_code 127.0.0.1:0 data access.json --max-connections 0)"
start_relay
check "a second relay on the same data directory is refused" 5 "$(serve_code 127.0.0.1:0 data access.json)"
check "the message says another relay serves it" 1 "$(grep -c "another relay is serving" serve_code.err)"
check "the ready line names the relay's key" "$(key relay)" "$relay_key"

# sync_once USER DIR: `blazedb sync DIR/bugs.blazedb --relay ... --once`; prints the exit code.
sync_once() {
  "$bin" sync "$2/bugs.blazedb" --relay "$url" --identity "$1.key" --relay-key "$relay_key" --once \
    --timeout-ms 15000 >"$2.sync.out" 2>"$2.sync.err"
  echo $?
}
new_client() {  # new_client DIR
  mkdir -p "$1"
  "$bin" init "$1/bugs.blazedb" >/dev/null
}
exports_equal() {  # exports_equal DIR...: every export equals the first's
  "$bin" export "$1/bugs.blazedb" bugs >"$1.export"
  local d
  for d in "${@:2}"; do
    "$bin" export "$d/bugs.blazedb" bugs >"$d.export"
    cmp -s "$1.export" "$d.export" || return 1
  done
}

# Two clients: each writes, each syncs, then the first again.
new_client a; new_client b
"$bin" put a/bugs.blazedb bugs '{"title":"from a"}' --id a1 >/dev/null
"$bin" put b/bugs.blazedb bugs '{"title":"from b"}' --id b1 >/dev/null
"$bin" put a/bugs.blazedb bugs '{"title":"shared","by":"a"}' --id s >/dev/null
check "a syncs" 0 "$(sync_once alice a)"
check "a's summary says caught up and what it sent" 1 "$(grep -c '"caught_up":true,"changes_received":0,"changes_sent":2' a.sync.out)"
check "b syncs" 0 "$(sync_once bob b)"
check "a syncs again" 0 "$(sync_once alice a)"
check "two clients converge" ok "$(exports_equal a b && echo ok)"
check "three records" 3 "$(wc -l <a.export)"

# Four clients, writes on every side (one record written by all four).
new_client c; new_client d
i=0
for pair in "alice a" "bob b" "carol c" "dave d"; do
  set -- $pair
  i=$((i + 1))
  "$bin" put "$2/bugs.blazedb" bugs "{\"n\":$i}" --id "four-$2" >/dev/null
  "$bin" patch "$2/bugs.blazedb" bugs s "{\"last\":\"$2\"}" >/dev/null 2>&1 || "$bin" put "$2/bugs.blazedb" bugs "{\"last\":\"$2\"}" --id s >/dev/null
done
for round in 1 2; do
  for pair in "alice a" "bob b" "carol c" "dave d"; do
    set -- $pair
    check "round $round: $1 syncs" 0 "$(sync_once "$1" "$2")"
  done
done
check "four clients converge" ok "$(exports_equal a b c d && echo ok)"
check "seven records" 7 "$(wc -l <a.export)"

# d goes offline while the others write; then it catches up.
for pair in "alice a" "bob b" "carol c"; do
  set -- $pair
  "$bin" put "$2/bugs.blazedb" bugs '{"while":"d offline"}' --id "offline-$2" >/dev/null
  check "$1 syncs while d is offline" 0 "$(sync_once "$1" "$2")"
done
check "d catches up" 0 "$(sync_once dave d)"
check "d received only what it missed" 1 "$(grep -c '"changes_received":3,' d.sync.out)"
check "d holds what the others wrote" 3 "$("$bin" export d/bugs.blazedb bugs | grep -c 'd offline')"
for pair in "alice a" "bob b" "carol c"; do set -- $pair; sync_once "$1" "$2" >/dev/null; done
check "all four converge after d's return" ok "$(exports_equal a b c d && echo ok)"

# A relay list whose first relay is down: the next one serves.
"$bin" put a/bugs.blazedb bugs '{"via":"second relay"}' --id failover >/dev/null
"$bin" sync a/bugs.blazedb --relay ws://127.0.0.1:1/sync --relay "$url" --identity alice.key \
  --relay-key "$relay_key" --once >failover.out 2>failover.err
check "a list whose first relay is down still syncs" 0 "$?"
check "the summary shows the first relay down" 1 "$(grep -c '"state":"down","url":"ws://127.0.0.1:1/sync"' failover.out)"
check "b gets the change through the relay" 0 "$(sync_once bob b)"
check "b holds it" 1 "$("$bin" export b/bugs.blazedb bugs | grep -c 'second relay')"
for pair in "carol c" "dave d"; do set -- $pair; sync_once "$1" "$2" >/dev/null; done

# Refusals: a clear message and a non-zero exit, at once.
new_client x
check "an unknown key is refused" 2 "$(sync_once stranger x)"
check "the message says the relay refused it" 1 "$(grep -c 'refused.*untrusted-peer' x.sync.err)"
"$bin" sync x/bugs.blazedb --relay "$url" --identity alice.key --relay-key "$(key stranger)" --once \
  >/dev/null 2>wrongkey.err
check "a wrong --relay-key is refused" 2 "$?"
check "the message names the relay's key" 1 "$(grep -c "$relay_key.*not in the trust store" wrongkey.err)"
"$bin" sync x/bugs.blazedb --relay "$url" --identity bob.key --relay-key "$relay_key" --name secret --once \
  >/dev/null 2>forbidden.err
check "a database not allowed is refused" 2 "$?"
check "the message says forbidden" 1 "$(grep -c 'forbidden' forbidden.err)"
check "x received nothing" 0 "$("$bin" export x/bugs.blazedb bugs | wc -l)"

# /health and /metrics.
health=$(http_get /health)
check "/health is ok" 1 "$(echo "$health" | grep -c '"status":"ok"')"
check "/health counts the database" 1 "$(echo "$health" | grep -c '"databases":1')"
metrics=$(http_get /metrics)
for m in blazedb_relay_connections blazedb_relay_handshakes_total blazedb_relay_handshake_failures_total \
         blazedb_relay_bytes_in_total blazedb_relay_frames_out_total process_resident_memory_bytes; do
  check "/metrics has $m" 1 "$(echo "$metrics" | grep -c "^$m ")"
done
check "/metrics counts changes per database" 1 "$(echo "$metrics" | grep -c '^blazedb_relay_changes_received_total{database="bugs"} [1-9]')"
check "/metrics counts the failed handshakes" 1 "$(echo "$metrics" | grep -c '^blazedb_relay_handshake_failures_total [1-9]')"
check "unknown paths are 404" 1 "$(exec 3<>/dev/tcp/127.0.0.1/$port; printf 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; timeout 5 head -1 <&3 | grep -c 404)"

# SIGHUP: a bad file keeps the old one; a good one lets erin in.
new_client e
check "erin is not in the access file yet" 2 "$(sync_once erin e)"
echo '{"users": oops' >access.json
kill -HUP "$relay"
check "a bad access file is reported" ok "$(until_ok 'grep -q "not reloaded" relay.err')"
check "the old file stays" 0 "$(sync_once alice a)"
write_access alice bob carol dave erin
kill -HUP "$relay"
check "the reload is logged" ok "$(until_ok 'grep -q "access file reloaded" relay.err')"
check "erin gets in after the reload" 0 "$(sync_once erin e)"
check "erin got everything" ok "$(exports_equal a e && echo ok)"

# kill -9 of the relay after clients synced; restart on the same data dir.
"$bin" put a/bugs.blazedb bugs '{"acked":"before the kill"}' --id acked >/dev/null
check "a syncs before the kill" 0 "$(sync_once alice a)"
kill -9 "$relay"
wait "$relay" 2>/dev/null
start_relay
new_client f
check "a new client syncs after the restart" 0 "$(sync_once carol f)"
check "it holds everything acknowledged" ok "$(exports_equal a f && echo ok)"
check "including the last change" 1 "$(grep -c 'before the kill' f.export)"

# Live mode: a client keeps syncing until SIGTERM.
"$bin" sync b/bugs.blazedb --relay "$url" --identity bob.key --relay-key "$relay_key" >live.out 2>live.err &
live=$!
pids+=("$live")
"$bin" put a/bugs.blazedb bugs '{"live":true}' --id live1 >/dev/null
check "a pushes a live change" 0 "$(sync_once alice a)"
check "the live client receives it" ok "$(until_ok '"$bin" get b/bugs.blazedb bugs live1')"
kill -TERM "$live"
wait "$live"
check "the live client exits 0 on SIGTERM" 0 "$?"

# SIGTERM: the relay exits 0, promptly.
kill -TERM "$relay"
wait "$relay"
check "the relay exits 0 on SIGTERM" 0 "$?"
check "it said why it stopped" 1 "$(grep -c 'stopping on SIGTERM' relay.err)"

echo "relay processes: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
