#!/bin/sh
# The kill loop by hand: SIGKILLs the app-under-test (test_crash_safety's child: the real store,
# model library and chat controller on a tiny model) 200 times at random moments — streaming and
# saving, importing a model, migrating a version-2 database — and prints the counts (integrity
# failures, damaged finished answers, text lost from the answer in flight). ctest runs 20.
# Usage: tests/kill_loop.sh [build-dir] [kills] [seed]
set -eu
build=${1:-build}
kills=${2:-200}
bin="$build/tests/app/test_crash_safety"
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target test_crash_safety" >&2; exit 2; }
export HEARTH_KILL_LOOP_KILLS="$kills"
[ $# -ge 3 ] && export HEARTH_KILL_LOOP_SEED="$3"
export QT_QPA_PLATFORM=offscreen
# QtTest's default watchdog (5 minutes per test function) is too short for 200 kills.
export QTEST_FUNCTION_TIMEOUT=3600000
exec "$bin" killLoop
