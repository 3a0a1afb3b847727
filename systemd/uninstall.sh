#!/usr/bin/env bash
# Removes the pi-edge-gateway service: stops and disables it, removes the unit and /opt/pi-edge-gateway. The config
# (/etc/pi-edge-gateway) and the state (/var/lib/pi-edge-gateway: retained messages, sessions, bridge queues) are
# kept unless --purge, which also removes the user.
#
#   sudo systemd/uninstall.sh [--purge]
#   systemd/uninstall.sh --prefix DIR [--purge]    # (or DESTDIR=DIR) only under DIR; no systemctl, no userdel
set -euo pipefail

NAME=pi-edge-gateway
SERVICE_USER=pi-edge-gateway
PREFIX=${DESTDIR:-}
PURGE=0

die() { echo "uninstall.sh: $*" >&2; exit 1; }
say() { echo "==> $*"; }
would() { echo "would: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
SYSTEM=0
[ -z "$PREFIX" ] && SYSTEM=1
if [ "$SYSTEM" = 1 ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo), or give --prefix DIR"; fi

UNIT=$PREFIX/etc/systemd/system/$NAME.service
if [ "$SYSTEM" = 1 ]; then
  systemctl disable --now "$NAME" 2>/dev/null || true
else
  would "systemctl disable --now $NAME"
fi
say "removing $UNIT and $PREFIX/opt/$NAME"
rm -f "$UNIT" "$PREFIX/usr/local/bin/$NAME"
rm -rf "$PREFIX/opt/$NAME"
if [ "$SYSTEM" = 1 ]; then systemctl daemon-reload; else would "systemctl daemon-reload"; fi

if [ "$PURGE" = 1 ]; then
  say "--purge: removing $PREFIX/etc/$NAME and $PREFIX/var/lib/$NAME"
  rm -rf "$PREFIX/etc/$NAME" "$PREFIX/var/lib/$NAME"
  if [ "$SYSTEM" = 1 ]; then
    if id -u "$SERVICE_USER" >/dev/null 2>&1; then userdel "$SERVICE_USER"; fi
  else
    would "userdel $SERVICE_USER"
  fi
else
  say "kept $PREFIX/etc/$NAME and $PREFIX/var/lib/$NAME (--purge removes them)"
fi
say "done"
