#!/bin/sh
# Hearth connects only to the hub endpoint (and the download host it redirects to), and only for
# downloads a person starts. Two checks under strace:
#  1. the real `hearth` (offscreen, fresh data folders) runs a few seconds without a download and
#     must not create an internet socket or connect anywhere but a local (AF_UNIX) socket;
#  2. when hearth-cli and hub_serve are given ($3, $4): `hearth-cli download` from the tests' fake
#     hub on 127.0.0.1 must connect to that endpoint's port and the CDN port it redirects to, and
#     nowhere else (no proxy variables, so no proxy either).
# Exit 77 (skipped) when strace is not installed or cannot trace here.
set -u
hearth=$1
out=${2:-.}/no_network
cli=${3:-}
serve=${4:-}
command -v strace >/dev/null 2>&1 || { echo "strace is not installed: skipped"; exit 77; }
# Containers may forbid ptrace: then strace cannot observe anything and the check is skipped, not failed.
strace -qq -o /dev/null true >/dev/null 2>&1 || { echo "strace cannot trace here (ptrace not permitted): skipped"; exit 77; }
rm -rf "$out"; mkdir -p "$out"

if [ -n "$hearth" ]; then
  XDG_DATA_HOME="$out/data" XDG_CONFIG_HOME="$out/config" QT_QPA_PLATFORM=offscreen \
    timeout -s INT 6 strace -f -qq -e trace=socket,connect -o "$out/trace.txt" "$hearth" >"$out/stdout.txt" 2>&1
  grep -q "main window created" "$out/stdout.txt" || { echo "hearth did not start:"; cat "$out/stdout.txt"; exit 1; }
  if grep -E "AF_INET|AF_INET6|AF_PACKET" "$out/trace.txt"; then
    echo "hearth opened a network socket (above)"; exit 1
  fi
  echo "hearth ran $(grep -c . "$out/trace.txt") socket/connect calls, none of them to the network"
fi

if [ -n "$cli" ] && [ -n "$serve" ]; then
  # The fake hub serves until its stdin closes: hold a FIFO open on descriptor 3, close it to stop it.
  mkfifo "$out/ctl"
  "$serve" 1 <"$out/ctl" >"$out/serve.txt" 2>&1 &
  exec 3>"$out/ctl"
  for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q '^cdn ' "$out/serve.txt" 2>/dev/null && break; sleep 0.5; done
  endpoint=$(awk '/^endpoint /{print $2}' "$out/serve.txt")
  cdn=$(awk '/^cdn /{print $2}' "$out/serve.txt")
  hub_port=${endpoint##*:}
  cdn_port=$(echo "$cdn" | sed 's|^http://127.0.0.1:\([0-9]*\)/.*|\1|')
  env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u HF_ENDPOINT -u HF_TOKEN \
    strace -f -qq -e trace=connect -o "$out/cli_trace.txt" \
    "$cli" download org/model --endpoint "$endpoint" -o "$out/download" >"$out/cli_stdout.txt" 2>&1
  rc=$?
  exec 3>&-
  wait
  [ $rc -eq 0 ] || { echo "hearth-cli download failed:"; cat "$out/cli_stdout.txt"; exit 1; }
  inet=$(grep -E "AF_INET|AF_INET6" "$out/cli_trace.txt")
  [ -n "$inet" ] || { echo "hearth-cli download made no connection at all: the trace saw nothing"; exit 1; }
  others=$(echo "$inet" | grep -v -E "sin_port=htons\(($hub_port|$cdn_port)\), sin_addr=inet_addr\(\"127.0.0.1\"\)")
  if [ -n "$others" ]; then
    echo "hearth-cli download connected somewhere other than the endpoint 127.0.0.1:$hub_port and its CDN :$cdn_port:"
    echo "$others"; exit 1
  fi
  echo "hearth-cli download made $(echo "$inet" | grep -c .) connections, all to the endpoint (:$hub_port) or its CDN (:$cdn_port)"
fi
exit 0
