# relay_test_lib.sh — helpers shared by the multi-process relay tests
# (relay_fault_test.sh, relay_abuse_test.sh), sourced after `bin` is set to
# the blazedb binary. The same helpers as relay_process_test.sh: a scratch
# directory removed on exit with every background process killed, check /
# until_ok, a relay on a port it keeps across restarts, clients syncing
# `--once`, and exports compared. Single-threaded shell; not for sourcing twice.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
pass=0
fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; fi
}
until_ok() {  # until_ok 'CMD' [TRIES]: retries every 50 ms (default 300 tries, 15 s); prints ok or timeout
  for _ in $(seq 1 "${2:-300}"); do
    if eval "$1" >/dev/null 2>&1; then echo ok; return; fi
    sleep 0.05
  done
  echo timeout
}
http_get() {  # http_get PATH: the body of GET PATH on the relay
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
  timeout 5 cat <&3 | sed '1,/^\r$/d'
  exec 3<&-
}
metric() {  # metric NAME: the value of an unlabelled /metrics line
  http_get /metrics | sed -n "s/^$1 \([0-9]*\).*/\1/p"
}
key() { "$bin" pubkey "$1.key"; }
write_access() {  # write_access USER...: those users on "bugs"
  local users="" list="" u
  for u in "$@"; do
    [ -f "$u.key" ] || "$bin" keygen "$u.key" >/dev/null
    users+="${users:+,}\"$u\":{\"keys\":[\"$(key "$u")\"]}"
    list+="${list:+,}\"$u\""
  done
  printf '{"users":{%s},"databases":{"bugs":{"mode":"smart","users":[%s]}}}\n' "$users" "$list" >access.json
}
port=0
relay_flags=()
start_relay() {  # start_relay: on $port (0 the first time: a free one), data dir ./data
  [ -f relay.key ] || "$bin" keygen relay.key >/dev/null
  mkdir -p data
  : >relay.out
  "$bin" serve --listen "127.0.0.1:$port" --data data --identity relay.key --access access.json \
    "${relay_flags[@]}" >relay.out 2>>relay.err &
  relay=$!
  pids+=("$relay")
  local ready
  ready=$(until_ok 'grep -q listening relay.out')
  if [ "$ready" != ok ]; then check "the relay starts on port $port" ok "$ready"; return 1; fi
  port=$(sed -n 's/.*"listening":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' relay.out)
  relay_key=$(sed -n 's/.*"public_key":"\([0-9a-f]*\)".*/\1/p' relay.out)
  url="ws://127.0.0.1:$port/sync"
}
kill_relay() {  # kill_relay [SIGNAL]: default -9
  kill "${1:--9}" "$relay" 2>/dev/null
  wait "$relay" 2>/dev/null
}
new_client() {  # new_client DIR
  mkdir -p "$1"
  "$bin" init "$1/bugs.blazedb" >/dev/null
}
sync_once() {  # sync_once USER DIR [TIMEOUT_MS]: one `sync --once`; prints the exit code
  "$bin" sync "$2/bugs.blazedb" --relay "$url" --identity "$1.key" --relay-key "$relay_key" --once \
    --timeout-ms "${3:-15000}" >"$2.sync.out" 2>"$2.sync.err"
  echo $?
}
exports_equal() {  # exports_equal DIR...: every export equals the first's
  "$bin" export "$1/bugs.blazedb" bugs >"$1.export"
  local d
  for d in "${@:2}"; do
    "$bin" export "$d/bugs.blazedb" bugs >"$d.export"
    cmp -s "$1.export" "$d.export" || return 1
  done
}
converge() {  # converge "USER DIR"...: sync each in turn, twice; prints ok when all exit 0
  local r=ok pair user dir pairs=("$@")
  for _ in 1 2; do
    for pair in "${pairs[@]}"; do
      read -r user dir <<<"$pair"
      [ "$(sync_once "$user" "$dir")" == 0 ] || r="sync of $dir failed: $(tail -1 "$dir.sync.err")"
    done
  done
  echo "$r"
}
