#!/bin/sh
# Starts the real `hearth` (offscreen, fresh data folders) under strace for a few seconds and fails
# if it created an internet socket or connected anywhere but a local (AF_UNIX) socket.
# Exit 77 (skipped) when strace is not installed.
set -u
hearth=$1
out=${2:-.}/no_network
command -v strace >/dev/null 2>&1 || { echo "strace is not installed: skipped"; exit 77; }
# Containers may forbid ptrace: then strace cannot observe anything and the check is skipped, not failed.
strace -qq -o /dev/null true >/dev/null 2>&1 || { echo "strace cannot trace here (ptrace not permitted): skipped"; exit 77; }
rm -rf "$out"; mkdir -p "$out"
XDG_DATA_HOME="$out/data" XDG_CONFIG_HOME="$out/config" QT_QPA_PLATFORM=offscreen \
  timeout -s INT 6 strace -f -qq -e trace=socket,connect -o "$out/trace.txt" "$hearth" >"$out/stdout.txt" 2>&1
grep -q "main window created" "$out/stdout.txt" || { echo "hearth did not start:"; cat "$out/stdout.txt"; exit 1; }
if grep -E "AF_INET|AF_INET6|AF_PACKET" "$out/trace.txt"; then
  echo "hearth opened a network socket (above)"; exit 1
fi
echo "hearth ran $(grep -c . "$out/trace.txt") socket/connect calls, none of them to the network"
exit 0
