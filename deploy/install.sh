#!/usr/bin/env bash
# Installs Skiff on Debian, Raspberry Pi OS or Ubuntu (amd64, arm64, armhf) and runs it under
# systemd. Run it from a built Skiff checkout or release (it copies the directory it is in):
#
#   install.sh server [--cluster-cidr 10.42.0.0/16]
#   install.sh agent --server nats://HOST:4222 --token T --discovery-token-ca-cert-hash sha256:H \
#                    [--node-name N] [--labels k=v,...] [--node-ip IP]
#   install.sh uninstall
#
# Common flags: --dry-run prints every step and changes nothing; --arch amd64|arm64|armhf
# overrides `dpkg --print-architecture`. Running it again changes nothing that is already done.
set -euo pipefail

PREFIX=/opt/skiff
BIN_LINK=/usr/local/bin/ctl
UNIT_DIR=/etc/systemd/system
SERVER_DATA=/var/lib/skiff/server
AGENT_DATA=/var/lib/skiff/agent
MIN_NODE_MAJOR=20
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
note() { printf '# %s\n' "$*"; }

DRY_RUN=0
ARCH=
COMMAND=
SERVER_URL=
TOKEN=
CA_HASH=
NODE_NAME=
LABELS=
NODE_IP=
CLUSTER_CIDR=10.42.0.0/16
# Set when this run changed what a running service uses, so it is restarted; otherwise left alone.
CHANGED=0

[ $# -gt 0 ] || usage
COMMAND=$1
shift
case "$COMMAND" in server | agent | uninstall) ;; -h | --help) usage ;; *) die "unknown command \"$COMMAND\": use server, agent or uninstall" ;; esac

need_value() { [ $# -ge 2 ] && [ -n "$2" ] && [ "${2:0:2}" != "--" ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --arch) need_value "$@"; ARCH=$2; shift ;;
    --server) need_value "$@"; SERVER_URL=$2; shift ;;
    --token) need_value "$@"; TOKEN=$2; shift ;;
    --discovery-token-ca-cert-hash) need_value "$@"; CA_HASH=$2; shift ;;
    --node-name) need_value "$@"; NODE_NAME=$2; shift ;;
    --labels) need_value "$@"; LABELS=$2; shift ;;
    --node-ip) need_value "$@"; NODE_IP=$2; shift ;;
    --cluster-cidr) need_value "$@"; CLUSTER_CIDR=$2; shift ;;
    -h | --help) usage ;;
    *) die "unknown flag \"$1\" (see install.sh --help)" ;;
  esac
  shift
done

# Every step that changes the machine goes through run: printed with --dry-run, done otherwise.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ %s\n' "$*"
  else
    printf '+ %s\n' "$*" >&2
    "$@"
  fi
}
# Writes stdin to a file only when its content differs (so a second run changes nothing).
write_file() {
  local path=$1 mode=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ write %s (mode %s):\n' "$path" "$mode"
    sed 's/^/    /' "$tmp"
    rm -f "$tmp"
  else
    printf '+ write %s\n' "$path" >&2
    install -D -m "$mode" "$tmp" "$path"
    rm -f "$tmp"
  fi
  CHANGED=1
  return 0
}

if [ -z "$ARCH" ]; then
  command -v dpkg >/dev/null || die "dpkg not found: this installer is for Debian, Raspberry Pi OS and Ubuntu"
  ARCH=$(dpkg --print-architecture)
fi
case "$ARCH" in amd64 | arm64 | armhf) ;; *) die "architecture \"$ARCH\" is not supported: Skiff installs on amd64, arm64 and armhf" ;; esac

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo $0 $COMMAND ...), or add --dry-run to see the steps"; fi
has_systemd() { [ "$DRY_RUN" = 1 ] || [ -d /run/systemd/system ]; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_packages() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  note "packages for $COMMAND on $ARCH: $* (missing: ${missing[*]:-none})"
  if ((${#missing[@]})); then
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  if command -v node >/dev/null && [ "$(node_major)" -ge "$MIN_NODE_MAJOR" ]; then
    note "Node.js $(node --version) is new enough"
    command -v npm >/dev/null || install_packages npm
    return
  fi
  case "$ARCH" in
    armhf) note "armhf: Debian's nodejs may be older than $MIN_NODE_MAJOR and NodeSource has no armhf packages for it; if the version check below fails, install the linux-armv7l build of Node.js $MIN_NODE_MAJOR from nodejs.org into /usr/local and run install.sh again" ;;
    *) note "$ARCH: if the distribution's nodejs is older than $MIN_NODE_MAJOR, add NodeSource's repository for Node.js $MIN_NODE_MAJOR (deb.nodesource.com) and run install.sh again" ;;
  esac
  install_packages nodejs npm
  if [ "$DRY_RUN" = 0 ] && [ "$(node_major)" -lt "$MIN_NODE_MAJOR" ]; then
    die "Node.js $(node --version 2>/dev/null || echo none) is too old: Skiff needs $MIN_NODE_MAJOR or newer (see the note above)"
  fi
}

install_skiff() {
  [ -f "$SRC/dist/cmd/ctl.js" ] || die "no built Skiff in $SRC (dist/cmd/ctl.js missing): run 'npm ci && npm run build' there first"
  local stamp want
  want=$(cd "$SRC" && cat package-lock.json <(find dist proto deploy -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
  stamp=$PREFIX/.install-hash
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    note "Skiff in $PREFIX is up to date"
  else
    run mkdir -p "$PREFIX"
    run cp -a "$SRC/dist" "$SRC/proto" "$SRC/deploy" "$SRC/package.json" "$SRC/package-lock.json" "$PREFIX/"
    # node-pty compiles at install where no prebuilt binary fits (arm): it needs a C++ toolchain.
    case "$ARCH" in arm64 | armhf) install_packages build-essential python3 ;; esac
    run sh -c "cd $PREFIX && npm ci --omit=dev --no-audit --no-fund --loglevel=error"
    run sh -c "echo $want > $stamp"
    CHANGED=1
  fi
  if [ "$(readlink "$BIN_LINK" 2>/dev/null)" != "$PREFIX/dist/cmd/ctl.js" ]; then
    run ln -sfn "$PREFIX/dist/cmd/ctl.js" "$BIN_LINK"
  fi
}

install_unit() {
  local name=$1
  if write_file "$UNIT_DIR/$name" 0644 <"$SRC/deploy/systemd/$name"; then
    if has_systemd; then run systemctl daemon-reload; fi
  fi
  if has_systemd; then
    systemctl is-enabled --quiet "$name" 2>/dev/null || run systemctl enable "$name"
    if [ "$CHANGED" = 1 ]; then
      run systemctl restart "$name"
    elif ! systemctl is-active --quiet "$name"; then
      run systemctl start "$name"
    else
      note "$name is running and nothing changed"
    fi
  else
    note "no systemd running: start it by hand with $(sed -n 's/^ExecStart=//p' "$SRC/deploy/systemd/$name")"
  fi
}

# ctl check, ignoring the ports of a Skiff service that is already running (a second run).
preflight() {
  local role=$1 unit=$2 ignore=()
  if [ "$DRY_RUN" = 0 ] && systemctl is-active --quiet "$unit" 2>/dev/null; then ignore=(--ignore port-6443,port-4222,port-10249); fi
  if [ "$DRY_RUN" = 1 ]; then
    run "$BIN_LINK" check --role "$role" "${ignore[@]}"
  else
    "$BIN_LINK" check --role "$role" "${ignore[@]}" || die "the preflight failed: fix what ctl check printed above and run install.sh again"
  fi
}

do_server() {
  ensure_node
  install_packages nats-server
  # Debian starts its packaged nats-server on 4222; Skiff's control plane runs its own there.
  if [ "$DRY_RUN" = 1 ] || systemctl is-enabled --quiet nats-server 2>/dev/null; then run systemctl disable --now nats-server; fi
  install_skiff
  preflight server skiff-server.service
  printf 'SKIFF_SERVER_ARGS="--cluster-cidr %s"\n' "$CLUSTER_CIDR" | write_file /etc/default/skiff-server 0644 || true
  install_unit skiff-server.service
  cat <<MSG
Skiff server installed. Once it is up (systemctl status skiff-server), make a join command:
  sudo ctl --kubeconfig $SERVER_DATA/admin.kubeconfig token create --print-join-command
and on each agent machine run install.sh agent with the --server, --token and
--discovery-token-ca-cert-hash it prints.
MSG
}

do_agent() {
  [ -n "$SERVER_URL" ] || die "--server is required: the control plane's NATS address, like nats://192.168.1.10:4222"
  [ -n "$TOKEN" ] || die "--token is required: run 'ctl token create --print-join-command' on the server"
  [ -n "$CA_HASH" ] || die "--discovery-token-ca-cert-hash is required: it is printed by 'ctl token create --print-join-command' on the server"
  ensure_node
  install_packages containerd runc containernetworking-plugins iptables iproute2 busybox-static
  install_skiff
  preflight agent skiff-agent.service
  if [ -f "$AGENT_DATA/identity/agent.json" ]; then
    note "this node has already joined (identity in $AGENT_DATA); to join again run install.sh uninstall first"
  else
    local join=("$BIN_LINK" join "$SERVER_URL" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH" --data-dir "$AGENT_DATA" --join-only)
    [ -n "$NODE_NAME" ] && join+=(--node-name "$NODE_NAME")
    [ -n "$LABELS" ] && join+=(--labels "$LABELS")
    [ -n "$NODE_IP" ] && join+=(--node-ip "$NODE_IP")
    run "${join[@]}"
  fi
  install_unit skiff-agent.service
  echo "Skiff agent installed; on the server, 'ctl get nodes' shows this node Ready within seconds."
}

do_uninstall() {
  local unit
  for unit in skiff-agent.service skiff-server.service; do
    if [ "$DRY_RUN" = 1 ] || [ -f "$UNIT_DIR/$unit" ]; then
      if has_systemd; then run systemctl disable --now "$unit"; fi
      run rm -f "$UNIT_DIR/$unit"
    fi
  done
  if has_systemd; then run systemctl daemon-reload; fi
  # The agent's pods, containers, CNI state and routes go with ctl reset (forced: the unit is stopped).
  if [ "$DRY_RUN" = 1 ] || [ -d "$AGENT_DATA" ]; then
    if [ -x "$BIN_LINK" ] || [ "$DRY_RUN" = 1 ]; then run "$BIN_LINK" reset --force --data-dir "$AGENT_DATA"; fi
  fi
  run rm -rf /etc/default/skiff-server /etc/default/skiff-agent "$BIN_LINK" "$PREFIX"
  note "kept $SERVER_DATA (the cluster's store and CA) and the distribution packages; remove them by hand if you want them gone"
}

case "$COMMAND" in
  server) do_server ;;
  agent) do_agent ;;
  uninstall) do_uninstall ;;
esac
