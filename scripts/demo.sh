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
