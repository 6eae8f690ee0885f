#!/usr/bin/env bash
# The main job: install what is missing, build, and show the blazedb command
# on a fresh database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBLAZE_BUILD_TESTS=OFF
exec scripts/demo.sh build/release/tools/blazedb
