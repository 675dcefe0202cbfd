#!/usr/bin/env bash
# Make a Docker daemon answer on this machine, starting one by hand when none runs.
# Why by hand: CI machines and containers have no systemd, so `service docker start` is not an
# option; dockerd is started in the background with iptables/bridge off (no NET_ADMIN needed,
# builds use --network host). Exit 0 when `docker info` works, 3 when no daemon can be had.
# Usage: bash docker/start-dockerd.sh            (idempotent; log: /tmp/e2et-dockerd.log)
set -uo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "start-dockerd: dockerd not installed (apt-get install docker.io)" >&2
  exit 3
fi
if [ "$(id -u)" != 0 ]; then
  echo "start-dockerd: no running daemon and not root: cannot start dockerd" >&2
  exit 3
fi
log=/tmp/e2et-dockerd.log
try_start() {
  # $@: extra dockerd flags. Detached with setsid so the daemon outlives this script.
  setsid dockerd --iptables=false --ip6tables=false --bridge=none "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > /tmp/e2et-dockerd.pid
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then return 0; fi
    kill -0 "$(cat /tmp/e2et-dockerd.pid)" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}
# overlay2 first; vfs works where overlay mounts are refused (nested containers).
try_start && exit 0
kill "$(cat /tmp/e2et-dockerd.pid)" 2>/dev/null; sleep 1; rm -f /var/run/docker.pid
try_start --storage-driver=vfs && exit 0
echo "start-dockerd: dockerd did not come up; last log lines:" >&2
tail -n 5 "$log" >&2
exit 3
