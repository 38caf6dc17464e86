#!/usr/bin/env bash
# Installs and starts what ferry's build and tests need on a Debian 12 host:
# the Docker engine, debootstrap and friends, a C compiler for `go test -race`
# (gcc, libc6-dev), Go 1.26.8 in /usr/local/go when no Go 1.26+ is on PATH
# (from the Go module proxy's golang.org/toolchain module, honouring
# $GOPROXY), and, on hosts whose capability bounding set cannot satisfy
# --privileged, the capstrip runtime wrapper.
# This is test-host set-up, run explicitly (CI, developers); `ferry up` never
# edits Docker's configuration by itself (`ferry doctor` explains what to do).
set -euo pipefail
cd "$(dirname "$0")/.."
user_path=$PATH
export PATH=/usr/local/go/bin:$PATH
log() { echo "setup-host: $*"; }

# gcc and libc6-dev: `make test` runs -race, which needs cgo; curl and unzip fetch Go;
# python3: the Python SDK's tests (standard library only); mypy: its static type check (make python-test).
# chromium and fonts-dejavu-core: the dashboard's browser tests (playwright-core drives /usr/bin/chromium);
# nodejs and npm (when the host has no Node.js 20.19+): the dashboard's build and tests (web/).
# qemu-user-static: `make release` starts the linux/arm64 build under qemu-aarch64-static.
pkgs=(docker.io containerd runc debootstrap busybox-static qemu-user-static iptables nftables jq bc ca-certificates procps psmisc gcc libc6-dev curl unzip python3 mypy
  chromium fonts-dejavu-core)
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the module needs 1.26+. A plain Debian 12 has none (or 1.19 from
# golang-go), so install the toolchain the go command itself would fetch:
# golang.org/toolchain from the module proxy (module zips carry no file
# modes, hence the chmod, as cmd/go does after such a download).
go_version=1.26.8
go_ok() {
  local v
  v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%[!0-9]*}
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] && (( major > 1 || (major == 1 && minor >= 26) ))
}
if ! go_ok; then
  proxy=
  IFS=',|' read -ra proxies <<<"${GOPROXY:-https://proxy.golang.org}"
  for p in "${proxies[@]}"; do
    case $p in http://* | https://* | file://*) proxy=${p%/}; break ;; esac
  done
  [[ -n $proxy ]] || { log "GOPROXY=$GOPROXY names no proxy URL to fetch Go $go_version from"; exit 1; }
  mod=golang.org/toolchain@v0.0.1-go$go_version.linux-amd64
  url=$proxy/golang.org/toolchain/@v/v0.0.1-go$go_version.linux-amd64.zip
  log "installing Go $go_version into /usr/local/go from $url"
  tmp=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$url"
  unzip -q "$tmp/go.zip" -d "$tmp"
  [[ -f $tmp/$mod/bin/go ]] || { log "$url has no $mod/bin/go"; exit 1; }
  chmod -R a+x "$tmp/$mod/bin" "$tmp/$mod/pkg/tool"
  rm -rf /usr/local/go.old
  [[ -e /usr/local/go ]] && mv /usr/local/go /usr/local/go.old
  mv "$tmp/$mod" /usr/local/go
  rm -rf "$tmp" /usr/local/go.old
  hash -r
  go_ok || { log "Go in /usr/local/go does not run: $(/usr/local/go/bin/go version 2>&1)"; exit 1; }
fi
if ! PATH=$user_path go_ok; then
  log "note: your PATH has no Go 1.26+: export PATH=/usr/local/go/bin:\$PATH (the Makefile and .ci/run add it)"
fi
log "$(go version) at $(command -v go); C compiler $(gcc -dumpfullversion) for -race"
# Vite 8 needs Node.js 20.19+ (web/package.json engines).
node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; }
node_ok || { log "the dashboard build needs Node.js 20.19+ and npm; found $(node --version 2>&1)"; exit 1; }
log "node $(node --version), npm $(npm --version), $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium')"

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
