#!/bin/sh
# wacoflow-launch: starts the edge agent from the A/B slot that `current` points at, and gives a newly installed
# version a trial it must pass or be rolled back. Installed once as /opt/wacoflow/wacoflow-launch and run by
# the wacoflow-agent systemd unit; an update never replaces it, so a broken release cannot break its own
# rollback.
#
# The layout under WACOFLOW_HOME (default: this script's folder):
#   slots/a, slots/b   two agent bundles
#   current            symlink to slots/a or slots/b: what starts
#   pending            written by the agent after it switched `current` to a new version (key=value lines:
#                      slot, previous, version, health_timeout_s, starts); the new version deletes it once it
#                      has published a heartbeat the gateway acknowledged
#   update-result      written here on a rollback (result, version, reason), read and reported by the agent
#
# A trial: the new version runs as this script's child. If it exits, or has not deleted `pending` within
# health_timeout_s, it is stopped, `current` goes back to the previous slot and the previous version starts.
# A power cut during a trial counts as a failed start; after WACOFLOW_TRIAL_MAX_STARTS (3) starts without
# reporting healthy, the next start rolls back.
set -u
home=${WACOFLOW_HOME:-$(dirname "$(readlink -f "$0")")}
max_starts=${WACOFLOW_TRIAL_MAX_STARTS:-3}
cd "$home" || exit 1

say() { echo "wacoflow-launch: $*" >&2; }

# Replaces a file whole: written beside it, flushed, renamed over it (a power cut leaves the old or the new).
put() {
  printf '%s\n' "$2" >"$1.tmp" && sync "$1.tmp" && mv -f "$1.tmp" "$1" && sync .
}

# Points `current` at slots/$1 atomically: a new symlink renamed over the old one.
switch_to() {
  ln -sfn "slots/$1" current.tmp && mv -Tf current.tmp current && sync .
}

rollback() {
  # The result first: if power fails before `pending` is gone, the next start rolls back again, and the agent
  # never retries a version recorded here.
  put update-result "result=rolled_back
version=$version
reason=$1"
  switch_to "$previous"
  rm -f pending && sync .
  say "rolled back from $version to $(readlink current): $1"
}

# Whether `pending` still holds this trial. Once the new version reports healthy it deletes `pending`, and it
# may at once take a newer release and write a `pending` of its own before this script's next look: that one is
# the next trial (for the next start), not this one still waiting.
on_trial() {
  [ -f pending ] && grep -qxF "version=$version" pending && grep -qxF "slot=$slot" pending
}

# Runs the new version as a child until it reports healthy (deletes `pending`), exits, or runs out of time.
# Returns only after a rollback; otherwise exits with the child's status.
trial() {
  say "starting $version from slots/$slot (start $starts of $max_starts); it has ${health_timeout_s}s to report healthy"
  # systemd's watchdog is fed by the agent, a child here, not by this script's own PID (NotifyAccess=all).
  env -u WATCHDOG_PID ./current/run "$@" &
  child=$!
  # Stopped by systemd (or Ctrl-C): pass it on and leave. A stop is not a failed trial; the next start goes on
  # with it, counted against its starts.
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM INT
  waited=0
  while kill -0 "$child" 2>/dev/null; do
    if ! on_trial; then
      say "$version reported healthy"
      trap 'kill -TERM "$child" 2>/dev/null' TERM INT
      status=0
      while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
      exit "$status"
    fi
    if [ "$waited" -ge "$health_timeout_s" ]; then
      kill -TERM "$child" 2>/dev/null
      wait "$child"
      rollback "no healthy heartbeat within ${health_timeout_s}s"
      return
    fi
    sleep 1
    waited=$((waited + 1))
  done
  wait "$child"
  status=$?
  if on_trial; then
    rollback "exited with status $status before it reported healthy"
    return
  fi
  exit "$status"
}

if [ -f pending ]; then
  slot='' previous='' version='' health_timeout_s=120 starts=0
  . ./pending
  if [ "$(readlink current)" != "slots/$slot" ]; then
    # Power failed between writing `pending` and switching: the old version still runs and will offer again.
    say "update to $version was never switched to; discarding it"
    rm -f pending
  elif [ "$starts" -ge "$max_starts" ]; then
    rollback "did not report healthy in $starts starts"
  else
    starts=$((starts + 1))
    put pending "slot=$slot
previous=$previous
version=$version
health_timeout_s=$health_timeout_s
starts=$starts"
    trial "$@"
  fi
fi
exec ./current/run "$@"
