#!/bin/sh
# WacoFlow agent installer, shipped in every payload `wacoflow flash` writes. Run as root on the board:
#   sh install.sh [--root DIR]        DIR defaults to /; another DIR lays the same tree out under it (tests, images)
#
# What it does (the team's install layout; bundle/wacoflow-launch explains the A/B slots):
#   bundle/                      -> R/opt/wacoflow/slots/<x>/  (x: a on a first install, else the slot `current`
#                                   does not point to, so the running version stays whole until the switch)
#   bundle/wacoflow-launch       -> R/opt/wacoflow/wacoflow-launch (0755)
#   R/opt/wacoflow/current       -> slots/<x> (relative symlink, switched atomically: ln -s to a temp name, mv -T)
#   etc/*                        -> R/etc/wacoflow/ (mqtt-password and client.key 0600, the rest 0644)
#   bundle/systemd/wacoflow-agent.service -> R/etc/systemd/system/
#   R/var/lib/wacoflow           created (0750)
# Only when R is /: the system user wacoflow (group dialout for the serial lines) is created if missing, the
# files above are given to it, and the service is enabled and (re)started.
#
# Idempotent: running it again installs the same payload into the other slot and switches to it; the slot it
# leaves keeps the previous copy. An install by hand is not an update on trial: a pending trial is cancelled.
set -eu
umask 022

root=/
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { echo "install.sh: --root needs a directory" >&2; exit 2; }; root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (usage: sh install.sh [--root DIR])" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

for f in bundle/manifest.json bundle/run bundle/wacoflow-launch bundle/systemd/wacoflow-agent.service etc/agent.yaml etc/mqtt-password; do
  [ -e "$here/$f" ] || die "$here/$f is missing: this is not a complete wacoflow payload (write one with 'wacoflow flash')"
done
[ -d "$root" ] || die "--root $root: no such directory"
R=$(cd "$root" && pwd)
if [ "$R" = / ]; then R=; fi
opt="$R/opt/wacoflow"

# Installs one file atomically: copied beside the target, mode set, renamed over it.
put() { # src dst mode
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

mkdir -p "$opt/slots"
slot=a
if [ -L "$opt/current" ]; then
  case "$(readlink "$opt/current")" in
    slots/a|*/slots/a) slot=b ;;
  esac
fi
say "installing the agent bundle into $opt/slots/$slot"
rm -rf "$opt/slots/$slot.tmp"
cp -R "$here/bundle" "$opt/slots/$slot.tmp"
rm -rf "$opt/slots/$slot"
mv "$opt/slots/$slot.tmp" "$opt/slots/$slot"

say "installing the launcher as $opt/wacoflow-launch"
put "$here/bundle/wacoflow-launch" "$opt/wacoflow-launch" 0755

rm -f "$opt/pending"
ln -s "slots/$slot" "$opt/current.tmp.$$"
mv -T "$opt/current.tmp.$$" "$opt/current"
say "$opt/current -> slots/$slot"

mkdir -p "$R/etc/wacoflow"
for f in "$here"/etc/*; do
  name=$(basename "$f")
  case "$name" in
    mqtt-password|*.key) mode=0600 ;;
    *) mode=0644 ;;
  esac
  put "$f" "$R/etc/wacoflow/$name" "$mode"
  say "$R/etc/wacoflow/$name ($mode)"
done

mkdir -p "$R/etc/systemd/system"
put "$here/bundle/systemd/wacoflow-agent.service" "$R/etc/systemd/system/wacoflow-agent.service" 0644
say "$R/etc/systemd/system/wacoflow-agent.service"

mkdir -p "$R/var/lib/wacoflow"
chmod 0750 "$R/var/lib/wacoflow"

if [ -z "$R" ]; then
  if ! getent passwd wacoflow >/dev/null; then
    say "creating the system user wacoflow (groups: wacoflow, dialout)"
    useradd --system --user-group --no-create-home --home-dir /var/lib/wacoflow --shell /usr/sbin/nologin --groups dialout wacoflow
  else
    usermod -a -G dialout wacoflow
  fi
  # The agent updates itself A/B under /opt/wacoflow and keeps its outbox in /var/lib/wacoflow; the secrets
  # are readable by it alone.
  chown -R wacoflow:wacoflow "$opt" /var/lib/wacoflow
  for f in /etc/wacoflow/mqtt-password /etc/wacoflow/*.key; do
    if [ -e "$f" ]; then chown wacoflow:wacoflow "$f"; fi
  done
  was_active=no
  systemctl is-active --quiet wacoflow-agent && was_active=yes
  systemctl daemon-reload
  # --no-block: under cloud-init's runcmd at first boot nothing should wait on the agent's start-up.
  systemctl enable --now --no-block wacoflow-agent
  # A re-install switched slots and may have changed the config: a running agent must restart to use them.
  if [ "$was_active" = yes ]; then systemctl restart --no-block wacoflow-agent; fi
  say "wacoflow-agent enabled and started; follow it with: journalctl -u wacoflow-agent -f"
else
  say "installed under $R (not the running system: no user, no systemctl)"
fi
say "done"
