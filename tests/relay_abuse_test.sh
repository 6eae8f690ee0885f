#!/usr/bin/env bash
# relay_abuse_test.sh BLAZEDB — `blazedb serve` under hostile or careless
# peers, real processes on loopback (issue 10, "Proof"): 1000 half-open TCP
# connections (and some upgraded WebSockets that never start the Noise
# handshake) while a legitimate client syncs; a client that stops reading
# while another syncs a large volume; malformed bytes on the port and on
# /sync; oversize WebSocket messages; and the bytes a client downloads after
# being offline, proportional to what it missed rather than to the database.
set -uo pipefail
bin=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
source "$here/relay_test_lib.sh"
half_open=${BLAZE_HALF_OPEN:-1000}
started=$(date +%s)

write_access alice bob carol dave
relay_flags=(--handshake-timeout-ms 1500 --send-queue-bytes 65536 --max-message-bytes 1048576)
start_relay
new_client a; new_client b
"$bin" put a/bugs.blazedb bugs '{"title":"first"}' --id first >/dev/null
check "a syncs" 0 "$(sync_once alice a)"

# ---- half-open connections ------------------------------------------------
ulimit -n $((half_open + 256)) 2>/dev/null
fds=()
for _ in $(seq 1 "$half_open"); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || break
  fds+=("$fd")
done
check "$half_open TCP connections open" "$half_open" "${#fds[@]}"
ws_upgrade() {  # ws_upgrade FD: a valid WebSocket upgrade to /sync on FD, response read
  printf 'GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' >&"$1"
  local line
  IFS= read -r -t 5 line <&"$1" || return 1
  [[ "$line" == *" 101 "* ]] || return 1
  while IFS= read -r -t 5 line <&"$1" && [ "$line" != $'\r' ]; do :; done
}
upgraded=0
for fd in "${fds[@]:0:20}"; do ws_upgrade "$fd" && upgraded=$((upgraded + 1)); done
check "20 of them upgrade to WebSocket and then stay silent" 20 "$upgraded"
"$bin" put b/bugs.blazedb bugs '{"title":"during the flood"}' --id flood >/dev/null
check "a legitimate client syncs while they are held" 0 "$(sync_once bob b)"
check "it received a's record" 1 "$(grep -c first <("$bin" export b/bugs.blazedb bugs))"
# The handshake deadline (1.5 s) closes every one of them: reading gets EOF.
closed=0
for fd in "${fds[@]:0:20}" "${fds[@]: -20}"; do
  timeout 10 cat <&"$fd" >/dev/null && closed=$((closed + 1))
done
check "the deadline closed them (40 sampled)" 40 "$closed"
for fd in "${fds[@]}"; do exec {fd}>&-; done
check "the relay counts no connection left" ok "$(until_ok '[ "$(metric blazedb_relay_connections)" == 0 ]')"
check "a syncs afterwards" 0 "$(sync_once alice a)"

# ---- malformed bytes and oversize messages --------------------------------
# raw_session 'COMMAND' [upgrade]: connect, optionally upgrade to /sync, write
# what COMMAND prints; prints ok when the relay closes the connection (EOF
# within 10 s) and is still running.
raw_session() {
  local fd
  trap '' PIPE  # the relay may close before everything is written
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || { echo "connect failed"; return; }
  if [ "${2:-}" == upgrade ]; then ws_upgrade "$fd" || { echo "no upgrade"; exec {fd}>&-; return; }; fi
  eval "$1" >&"$fd" 2>/dev/null
  if timeout 10 cat <&"$fd" >/dev/null 2>&1; then
    kill -0 "$relay" 2>/dev/null && echo ok || echo "relay died"
  else
    echo "not closed"
  fi
  exec {fd}>&-
}
fragments() {  # fragments N: a binary message of N masked 64 KiB fragments (mask 0), unfinished
  local i
  for i in $(seq 1 "$1"); do
    if [ "$i" == 1 ]; then printf '\x02'; else printf '\x00'; fi
    printf '\xff\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00'
    head -c 65536 /dev/zero | tr '\0' a
  done
}
check "garbage instead of HTTP" ok "$(raw_session "printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n'")"
check "an HTTP request line that is not one" ok "$(raw_session "printf 'GET\x00\xff /sync HTTP/9.9\r\n\r\n'")"
check "a 200 KB header" ok \
  "$(raw_session "printf 'GET /sync HTTP/1.1\r\nX: '; head -c 200000 /dev/zero | tr '\0' a; printf '\r\n\r\n'")"
check "a masked binary frame of garbage on /sync" ok \
  "$(raw_session "printf '\x82\x85\x01\x02\x03\x04\xde\xad\xbe\xef\x00'" upgrade)"
check "an unmasked client frame (a protocol error)" ok "$(raw_session "printf '\x82\x03abc'" upgrade)"
check "a text frame" ok "$(raw_session "printf '\x81\x83\x00\x00\x00\x00abc'" upgrade)"
check "a frame announcing 4 GiB" ok \
  "$(raw_session "printf '\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00\x01\x02\x03\x04abcd'" upgrade)"
check "a frame announcing 2 MiB (over --max-message-bytes 1 MiB)" ok \
  "$(raw_session "printf '\x82\xff\x00\x00\x00\x00\x00\x20\x00\x00\x01\x02\x03\x04abcd'" upgrade)"
check "a 2 MiB message in 64 KiB fragments" ok "$(raw_session "fragments 32" upgrade)"
check "the relay still serves" 0 "$(sync_once bob b)"
check "/health is ok" 1 "$(http_get /health | grep -c '"status":"ok"')"

# ---- a slow reader --------------------------------------------------------
# c syncs live, then is stopped (SIGSTOP): it never reads again while a
# writes 60 000 records (~6 MB) and b pulls them.
new_client c
"$bin" sync c/bugs.blazedb --relay "$url" --identity carol.key --relay-key "$relay_key" >c.live.out 2>c.live.err &
slow=$!
pids+=("$slow")
check "the slow reader is live" ok "$(until_ok '[ "$("$bin" count c/bugs.blazedb bugs)" -ge 2 ]')"
kill -STOP "$slow"
for n in $(seq 0 59); do
  seq $((n * 1000 + 1)) $((n * 1000 + 1000)) |
    awk '{printf "{\"_id\":\"vol-%d\",\"n\":%d,\"pad\":\"0123456789012345678901234567890123456789\"}\n",$1,$1}' |
    "$bin" import a/bugs.blazedb bugs - >/dev/null
done
check "a pushes the volume past the stopped reader" 0 "$(sync_once alice a 60000)"
check "b pulls it" 0 "$(sync_once bob b 60000)"
check "a and b converge" ok "$(exports_equal a b && echo ok)"
# The relay sends a reader at most its engine's window of batches before an
# ack (bounded by --send-queue-bytes), so the stopped reader fills nothing
# else; a reader whose queue fills anyway is disconnected (counted here).
echo "slow reader: send queue overflows $(metric blazedb_relay_send_queue_overflows_total)"
kill -CONT "$slow"
check "resumed, the slow reader reconnects and catches up" ok \
  "$(until_ok '[ "$("$bin" count c/bugs.blazedb bugs)" == "$("$bin" count a/bugs.blazedb bugs)" ]' 600)"
kill -TERM "$slow"; wait "$slow"
check "it exits 0 on SIGTERM" 0 "$?"

# ---- bytes downloaded after being offline ---------------------------------
# d syncs the whole database once; then, one client at a time, the relay's
# frame bytes out while d catches up after missing 0, 10 and 1000 records.
# Every reconnect re-sends, per origin, the last change both sides hold (a
# probe for divergent histories, sync-protocol.md), so a's last change is
# made small first; see the KNOWN line below for a large one.
"$bin" put a/bugs.blazedb bugs '{"small":"last"}' --id small-last >/dev/null
sync_once alice a >/dev/null
new_client d
out=$(metric blazedb_relay_bytes_out_total)
check "d's first sync" 0 "$(sync_once dave d 60000)"
full=$(( $(metric blazedb_relay_bytes_out_total) - out ))
missed_bytes() {  # missed_bytes N: a writes N records, syncs; prints d's download
  if [ "$1" -gt 0 ]; then
    seq 1 "$1" | awk -v t="$1" '{printf "{\"_id\":\"miss-%d-%d\",\"n\":%d}\n",t,$1,$1}' | "$bin" import a/bugs.blazedb bugs - >/dev/null
    sync_once alice a >/dev/null
  fi
  local before
  before=$(metric blazedb_relay_bytes_out_total)
  sync_once dave d >/dev/null
  echo $(( $(metric blazedb_relay_bytes_out_total) - before ))
}
m0=$(missed_bytes 0); m10=$(missed_bytes 10); m1000=$(missed_bytes 1000)
echo "bytes to d: full database $full; after missing 0 records $m0, 10 records $m10, 1000 records $m1000"
check "missing 10 records costs at most 100 bytes each beyond a reconnect" ok "$([ $((m10 - m0)) -le 1000 ] && echo ok)"
check "missing 1000 records costs at most 100 bytes each beyond a reconnect" ok "$([ $((m1000 - m0)) -le 100000 ] && echo ok)"
check "and grows with what was missed" ok "$([ "$m1000" -gt "$m10" ] && echo ok)"
check "a reconnect is small next to the database ($full bytes)" ok "$([ $((m0 * 100)) -lt "$full" ] && echo ok)"
check "d converges" ok "$(exports_equal a d && echo ok)"
# Not fixed (reported): after a large change (the 1000-record import above)
# a reconnect that misses nothing still downloads it whole, as the probe.
echo "KNOWN, not asserted: a reconnect missing nothing after a 1000-record change downloads $(missed_bytes 0) bytes (the probe)"

kill_relay -TERM
echo "relay abuse: $pass passed, $fail failed ($(( $(date +%s) - started )) s)"
[ "$fail" -eq 0 ]
