#!/usr/bin/env bash
# The whole test suite: install what is missing, then
#   1. release build + every test (unit, property, differential, crash, CLI);
#   2. ASan+UBSan build + every test;
#   3. TSan build + the threaded tests: watcher, sync engines, topology, secure channel, cross-app, network;
#   4. libFuzzer targets built with clang, each run for a bounded time;
#   5. cmake --install, and an example program built against the installed
#      package with find_package(BlazeDB) and with pkg-config.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${BLAZE_FUZZ_SECONDS:-30}
export BLAZE_CRASH_ROUNDS=${BLAZE_CRASH_ROUNDS:-40}  # kill -9 rounds of the crash test
step() { printf '\n=== %s\n' "$*"; }

step "release build and tests"
scripts/build.sh build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build/release && ctest --output-on-failure -j "$jobs")

step "ASan + UBSan build and tests"
scripts/build.sh build/asan -DCMAKE_BUILD_TYPE=Debug -DBLAZE_SANITIZE=address -DBLAZE_BUILD_BENCH=OFF
(cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$jobs")

step "TSan build: store, sync, topology, secure channel, cross-app and network tests"
scripts/build.sh build/tsan -DCMAKE_BUILD_TYPE=Debug -DBLAZE_SANITIZE=thread -DBLAZE_BUILD_BENCH=OFF -DBLAZE_BUILD_TOOLS=OFF
(cd build/tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j "$jobs" -R "Watch|Crud|Open|Threaded|ThreadExecutor|EnginePair|Topology|SecureChannel|ChannelHardening|CrossApp|Compaction|SyncCopies|WebSocket|PeerServer|RelayTest|SessionTest|StreamLink|RemoteNode")

step "libFuzzer targets (${fuzz_seconds}s each)"
CC=clang CXX=clang++ scripts/build.sh build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBLAZE_FUZZ=ON \
  -DBLAZE_BUILD_TESTS=OFF -DBLAZE_BUILD_BENCH=OFF -DBLAZE_BUILD_TOOLS=OFF
for t in fuzz_blaze_binary fuzz_record_state fuzz_change_ops fuzz_query fuzz_frame_decoder fuzz_hello \
         fuzz_handshake_responder fuzz_export_policy fuzz_sync_message fuzz_relay_session; do
  corpus=build/fuzz/corpus/$t
  mkdir -p "$corpus"
  [ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/$t/* "$corpus"/ 2>/dev/null || true
  build/fuzz/fuzz/$t -max_total_time="$fuzz_seconds" -print_final_stats=1 -artifact_prefix=build/fuzz/ "$corpus" 2>&1 |
    grep -E "stat::number_of_executed_units|ERROR|SUMMARY" | sed "s/^/$t: /"
  test "${PIPESTATUS[0]}" -eq 0
done

step "install and build an example against the installed package"
rm -rf build/install-root build/consumer
cmake --install build/release --prefix "$root/build/install-root" >/dev/null
cmake -S examples/consumer -B build/consumer -G Ninja -DCMAKE_PREFIX_PATH="$root/build/install-root" >/dev/null
cmake --build build/consumer
build/consumer/consumer
PKG_CONFIG_PATH="$root/build/install-root/lib/pkgconfig" \
  g++ -std=c++20 examples/consumer/main.cc $(PKG_CONFIG_PATH="$root/build/install-root/lib/pkgconfig" pkg-config --cflags --libs --static blazedb) \
  -o build/consumer/consumer_pc
build/consumer/consumer_pc

step "all suites passed"
