#!/usr/bin/env bash
# Installs pi-edge-gateway as a systemd service: the build under /opt/pi-edge-gateway, a starting config in
# /etc/pi-edge-gateway/config.yaml (never over an existing one), the unit, its user; then enables and starts it.
# Running it again upgrades in place and changes nothing else. docs/systemd.md has the whole story.
#
#   sudo systemd/install.sh                   # from a clone; builds dist/ first if it is missing
#   systemd/install.sh --prefix /tmp/root     # everything under /tmp/root; no user, chown only if it can, no systemctl
#   DESTDIR=/tmp/root systemd/install.sh      # the same
#
# Options: --prefix DIR, --no-deps (skip `npm ci --omit=dev` in the install; for packagers and tests), --no-start
# (enable but do not start or restart), -h.
set -euo pipefail

NAME=pi-edge-gateway
SERVICE_USER=pi-edge-gateway
NODE_MIN=20.19
SOURCE=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${DESTDIR:-}
DEPS=1
START=1

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "==> $*"; }
would() { echo "would: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --no-deps) DEPS=0; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if [ -n "$PREFIX" ]; then
  mkdir -p "$PREFIX"
  PREFIX=$(cd "$PREFIX" && pwd)
fi
SYSTEM=0 # 1: the real system (no prefix): create the user, run systemctl
[ -z "$PREFIX" ] && SYSTEM=1
if [ "$SYSTEM" = 1 ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo), or give --prefix DIR"; fi

OPT=$PREFIX/opt/$NAME
ETC=$PREFIX/etc/$NAME
STATE=$PREFIX/var/lib/$NAME
UNIT=$PREFIX/etc/systemd/system/$NAME.service
BIN=$PREFIX/usr/local/bin/$NAME

# --- Node ---------------------------------------------------------------------------------------------------------
NODE=${NODE:-$(command -v node || true)}
[ -n "$NODE" ] || die "node not found: install Node.js $NODE_MIN or newer (Raspberry Pi OS: NodeSource's nodejs package)"
NODE=$(readlink -f "$NODE")
version=$("$NODE" -p 'process.versions.node')
if ! "$NODE" -e "const [a,b]=process.versions.node.split('.').map(Number); const [x,y]='$NODE_MIN'.split('.').map(Number); process.exit(a>x||(a===x&&b>=y)?0:1)"; then
  die "node $version at $NODE is too old: $NAME needs $NODE_MIN or newer"
fi
case "$NODE" in
  /home/*|/root/*) die "node is at $NODE, inside a home directory, which the service cannot see (ProtectHome=yes): install Node.js system-wide, or give NODE=/usr/bin/node" ;;
esac
say "node $version at $NODE"

# --- build --------------------------------------------------------------------------------------------------------
if [ ! -f "$SOURCE/dist/src/cli/main.js" ]; then
  say "no build in $SOURCE/dist: npm ci && npm run build"
  (cd "$SOURCE" && npm ci --no-audit --no-fund && npm run build)
fi

# --- owners -------------------------------------------------------------------------------------------------------
# On the real system the user is created first; under a prefix files get owners only when this runs as root and the
# user exists, otherwise the script says what it would do.
user_exists() { id -u "$SERVICE_USER" >/dev/null 2>&1; }
group_exists() { getent group "$1" >/dev/null 2>&1; }
can_chown() { [ "$(id -u)" = 0 ] && user_exists; }
own() { # own OWNER:GROUP PATH...
  local owner=$1; shift
  if can_chown; then chown "$owner" "$@"; else would "chown $owner $*"; fi
}

DEVICE_GROUPS=()
for group in gpio i2c; do
  if group_exists "$group"; then DEVICE_GROUPS+=("$group"); else say "no group $group on this system: not in SupplementaryGroups="; fi
done

if [ "$SYSTEM" = 1 ]; then
  if user_exists; then
    say "user $SERVICE_USER exists"
  else
    say "creating system user $SERVICE_USER"
    if command -v adduser >/dev/null 2>&1 && adduser --help 2>&1 | grep -q -- '--system'; then
      adduser --system --group --no-create-home --home /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
    else
      useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
  fi
  for group in "${DEVICE_GROUPS[@]}"; do usermod -a -G "$group" "$SERVICE_USER"; done
else
  user_exists || would "create system user $SERVICE_USER (no home, /usr/sbin/nologin) in groups: ${DEVICE_GROUPS[*]:-none}"
fi

# --- the build under /opt -----------------------------------------------------------------------------------------
# Staged beside the old one and swapped in, so a failed install leaves the running version whole.
say "installing the build into $OPT"
mkdir -p "$(dirname "$OPT")"
STAGE=$(mktemp -d "$(dirname "$OPT")/.$NAME.new.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
cp -R "$SOURCE/dist" "$STAGE/dist"
cp "$SOURCE/package.json" "$SOURCE/package-lock.json" "$STAGE/"
for dir in config systemd schema; do [ -d "$SOURCE/$dir" ] && cp -R "$SOURCE/$dir" "$STAGE/$dir"; done
mkdir -p "$STAGE/docs"
[ -f "$SOURCE/docs/systemd.md" ] && cp "$SOURCE/docs/systemd.md" "$STAGE/docs/"
if [ "$DEPS" = 1 ]; then
  if [ -d "$OPT/node_modules" ] && cmp -s "$OPT/package-lock.json" "$STAGE/package-lock.json"; then
    say "dependencies unchanged: keeping $OPT/node_modules"
    cp -R "$OPT/node_modules" "$STAGE/node_modules"
  else
    say "npm ci --omit=dev (native optional packages build here: gcc, make, python3)"
    (cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund)
  fi
else
  say "--no-deps: not installing node_modules"
fi
chmod -R u=rwX,go=rX "$STAGE"
if [ -e "$OPT" ]; then
  OLD="$STAGE.old"
  mv "$OPT" "$OLD"
  mv "$STAGE" "$OPT"
  rm -rf "$OLD"
else
  mv "$STAGE" "$OPT"
fi
trap - EXIT
chmod 0755 "$OPT"
# root's: the service only reads its code.

# --- config and state ---------------------------------------------------------------------------------------------
mkdir -p "$ETC"
chmod 0750 "$ETC"
own "root:$SERVICE_USER" "$ETC"
if [ -e "$ETC/config.yaml" ]; then
  say "keeping the existing $ETC/config.yaml"
else
  say "starting config: $ETC/config.yaml (from config/pi.yaml)"
  sed '/^# yaml-language-server:/d' "$SOURCE/config/pi.yaml" > "$ETC/config.yaml"
  chmod 0640 "$ETC/config.yaml"
  own "root:$SERVICE_USER" "$ETC/config.yaml"
fi
mkdir -p "$STATE"
chmod 0750 "$STATE"
own "$SERVICE_USER:$SERVICE_USER" "$STATE"

# --- the command --------------------------------------------------------------------------------------------------
# `pi-edge-gateway passwd|certs|check|import-mosquitto …` for the operator, with the node and flags the service uses.
say "command: $BIN"
mkdir -p "$(dirname "$BIN")"
# The CLI's first line is `#!/usr/bin/env -S [NAME=VALUE...] node FLAGS`: the same environment and flags, this node.
SHEBANG=$(head -n 1 "$SOURCE/dist/src/cli/main.js")
RUN=${SHEBANG#'#!/usr/bin/env -S '}
RUN_ENV=${RUN%%node *}
RUN_FLAGS=${RUN#*node }
printf '#!/bin/sh\n# Installed by %s/install.sh: the CLI of %s, with the environment and node flags of the service.\nexec env %s%s %s /opt/%s/dist/src/cli/main.js "$@"\n' \
  "$NAME" "/opt/$NAME" "$RUN_ENV" "$NODE" "$RUN_FLAGS" "$NAME" > "$BIN.tmp"
chmod 0755 "$BIN.tmp"
mv "$BIN.tmp" "$BIN"

# --- the unit -----------------------------------------------------------------------------------------------------
say "unit: $UNIT"
mkdir -p "$(dirname "$UNIT")"
sed -e "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" \
    -e "s#^SupplementaryGroups=.*#SupplementaryGroups=${DEVICE_GROUPS[*]:-}#" \
    "$SOURCE/systemd/$NAME.service" > "$UNIT.tmp"
chmod 0644 "$UNIT.tmp"
mv "$UNIT.tmp" "$UNIT"

# --- systemctl ----------------------------------------------------------------------------------------------------
if [ "$SYSTEM" = 1 ]; then
  systemctl daemon-reload
  systemctl enable "$NAME"
  if [ "$START" = 1 ]; then
    # restart, not start: a second run must put the new build to work.
    systemctl restart "$NAME"
    say "started: systemctl status $NAME; journalctl -u $NAME -f"
  fi
else
  would "systemctl daemon-reload"
  would "systemctl enable $NAME"
  [ "$START" = 1 ] && would "systemctl restart $NAME"
fi
say "done"
