#!/usr/bin/env bash
# demo.sh BLAZEDB — a short tour of the CLI on a fresh database in a temp dir.
set -euo pipefail
bin=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
run() { printf '\n$ %s\n' "$*"; "$@"; }

run "$bin" init bugs.blazedb
run "$bin" put bugs.blazedb bugs '{"title":"Crash on save","status":"open","priority":3,"tags":["ui","crash"]}' --id bug-1
run "$bin" put bugs.blazedb bugs '{"title":"Typo in menu","status":"open","priority":1,"tags":["ui"]}' --id bug-2
run "$bin" put bugs.blazedb bugs '{"title":"Slow sync","status":"closed","priority":2}'
run "$bin" get bugs.blazedb bugs bug-1
run "$bin" patch bugs.blazedb bugs bug-2 '{"priority":2,"tags":null}'
run "$bin" get bugs.blazedb bugs bug-2
run "$bin" index bugs.blazedb bugs status
run "$bin" query bugs.blazedb bugs 'status == "open" && (priority >= 2 || tags contains "ui")' --order-by priority --desc
run "$bin" query bugs.blazedb bugs 'status == "open"' --explain
run "$bin" count bugs.blazedb bugs 'status == "open"'
run "$bin" delete bugs.blazedb bugs bug-2
run "$bin" export bugs.blazedb bugs
printf '%s\n' '{"_id":"n1","text":"hello"}' '{"text":"world"}' > notes.jsonl
run "$bin" import bugs.blazedb notes notes.jsonl
run "$bin" export bugs.blazedb notes
# A second replica, written independently, then both converge.
run "$bin" init laptop.blazedb
run "$bin" put laptop.blazedb bugs '{"title":"Crash on save","status":"fixed"}' --id bug-1
run "$bin" sync bugs.blazedb laptop.blazedb
run "$bin" get laptop.blazedb bugs bug-1
run "$bin" changes laptop.blazedb
printf '\n$ %s\n' "$bin query bugs.blazedb bugs 'status =='   # a bad query"
"$bin" query bugs.blazedb bugs 'status ==' || echo "(exit code $?)"
printf '\n$ %s\n' "$bin get bugs.blazedb bugs nope   # a missing record"
"$bin" get bugs.blazedb bugs nope || echo "(exit code $?)"
# Compaction: the log shrinks, a new replica is bootstrapped from a snapshot.
run "$bin" compact bugs.blazedb --log-horizon-ms 0
run "$bin" init tablet.blazedb
run "$bin" sync bugs.blazedb tablet.blazedb
run "$bin" count tablet.blazedb bugs
# Cross-app sync: BugTracker shares bugs.blazedb with Dashboard through an app group.
run "$bin" group init grp
"$bin" keygen bugtracker.key >/dev/null
"$bin" keygen dashboard.key >/dev/null
run "$bin" group add grp bugtracker "$("$bin" pubkey bugtracker.key)"
run "$bin" group add grp dashboard "$("$bin" pubkey dashboard.key)"
cat > policy.json <<'JSON'
{ "apps": { "dashboard": { "collections": {
    "bugs": { "access": "read", "fields": { "exclude": ["tags"] }, "where": "priority >= 2" } } } } }
JSON
printf '\n$ %s\n' "$bin share bugs.blazedb --group grp --identity bugtracker.key --policy policy.json &"
"$bin" share bugs.blazedb --group grp --identity bugtracker.key --policy policy.json >share.out 2>/dev/null &
owner=$!
for _ in $(seq 1 100); do [ -s share.out ] && break; sleep 0.05; done
cat share.out
run "$bin" connect --group grp --db bugs.blazedb --identity dashboard.key --replica dash.blazedb --once
run "$bin" export dash.blazedb bugs
kill "$owner"
wait "$owner" 2>/dev/null || true
# Network sync: a relay, and two databases syncing through it over WebSocket.
"$bin" keygen relay.key >/dev/null
"$bin" keygen alice.key >/dev/null
"$bin" keygen bob.key >/dev/null
cat > access.json <<JSON
{ "users": { "alice": { "keys": ["$("$bin" pubkey alice.key)"] }, "bob": { "keys": ["$("$bin" pubkey bob.key)"] } },
  "databases": { "team": { "mode": "smart", "users": ["alice", "bob"] } } }
JSON
mkdir relay-data
printf '\n$ %s\n' "$bin serve --listen 127.0.0.1:0 --data relay-data --identity relay.key --access access.json &"
"$bin" serve --listen 127.0.0.1:0 --data relay-data --identity relay.key --access access.json >relay.out 2>/dev/null &
relay=$!
trap 'kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s relay.out ] && break; sleep 0.05; done
cat relay.out
url="ws://$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' relay.out)/sync"
relay_key=$(sed -n 's/.*"public_key":"\([0-9a-f]*\)".*/\1/p' relay.out)
mkdir alice bob
"$bin" init alice/team.blazedb >/dev/null
"$bin" init bob/team.blazedb >/dev/null
run "$bin" put alice/team.blazedb tasks '{"title":"write the demo","by":"alice"}' --id t1
run "$bin" put bob/team.blazedb tasks '{"title":"review the demo","by":"bob"}' --id t2
run "$bin" sync alice/team.blazedb --relay "$url" --identity alice.key --relay-key "$relay_key" --once
run "$bin" sync bob/team.blazedb --relay "$url" --identity bob.key --relay-key "$relay_key" --once
run "$bin" sync alice/team.blazedb --relay "$url" --identity alice.key --relay-key "$relay_key" --once
run "$bin" export alice/team.blazedb tasks
kill "$relay"
wait "$relay"
