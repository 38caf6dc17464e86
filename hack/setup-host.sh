#!/usr/bin/env bash
# Installs and starts what ferry's build and tests need on a Debian 12 host:
# the Docker engine, debootstrap and friends, and, on hosts whose capability
# bounding set cannot satisfy --privileged, the capstrip runtime wrapper.
# This is test-host set-up, run explicitly (CI, developers); `ferry up` never
# edits Docker's configuration by itself (`ferry doctor` explains what to do).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
log() { echo "setup-host: $*"; }

pkgs=(docker.io containerd runc debootstrap busybox-static iptables nftables jq bc ca-certificates procps psmisc)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kind needs many inotify watches; a node per cluster needs its own instances.
sysctl -qw fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 || true

# capstrip: only where the bounding set lacks a capability that --privileged requests.
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
daemon_changed=0
full=$(( (1 << 41) - 1 ))   # CAP_CHOWN .. CAP_CHECKPOINT_RESTORE
if (( (16#$bnd & full) != full )); then
  mkdir -p /usr/local/lib/ferry
  CGO_ENABLED=0 go build -trimpath -o /usr/local/lib/ferry/runc-capstrip.new ./hack/capstrip
  mv /usr/local/lib/ferry/runc-capstrip.new /usr/local/lib/ferry/runc-capstrip
  if ! grep -q runc-capstrip /etc/docker/daemon.json 2>/dev/null; then
    log "capability bounding set $bnd lacks capabilities --privileged asks for: registering the capstrip runtime wrapper with Docker"
    mkdir -p /etc/docker
    base='{}'; [[ -s /etc/docker/daemon.json ]] && base=$(cat /etc/docker/daemon.json)
    echo "$base" | jq '.runtimes.capstrip.path = "/usr/local/lib/ferry/runc-capstrip" | .["default-runtime"] = "capstrip"' > /etc/docker/daemon.json.new
    mv /etc/docker/daemon.json.new /etc/docker/daemon.json
    daemon_changed=1
  fi
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  if [[ -d /run/systemd/system ]]; then
    systemctl start docker
  else
    (setsid nohup dockerd >/var/log/dockerd.log 2>&1 &)
  fi
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log || true; exit 1; }
elif ((daemon_changed)); then
  kill -HUP "$(pidof dockerd)"; sleep 2   # runtimes and default-runtime reload without a restart
fi
log "docker $(docker version --format '{{.Server.Version}}') ready, default runtime $(docker info --format '{{.DefaultRuntime}}')"
