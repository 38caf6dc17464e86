#!/usr/bin/env bash
# make conformance: upstream Kubernetes e2e specs against a 3-node ferry
# cluster (a control plane and two workers, ferry's own pod network and
# node agent), with the test images built here, without a registry.
#
#   hack/conformance.sh [SET ...]     SET: network storage netpol (default: all three)
#
#   network  [sig-network] [Conformance]: Services, EndpointSlices, DNS, Proxy,
#            session affinity, node-pod and pod-pod connectivity
#   storage  [sig-storage] [Conformance]: ConfigMap, Secret, projected,
#            downward API and emptyDir volumes (what a node serves without a
#            network filesystem; the local-path provisioner serves the PVCs)
#   netpol   [sig-network] Netpol (the NetworkPolicy specs the node agent enforces)
#
# e2e.test, ginkgo and agnhost are built from k8s.io/kubernetes at the node
# image's Kubernetes version, with the node image build's flags so that the
# Kubernetes packages it compiled come from the Go build cache (3.5 minutes
# after a node image build on 2 cores; about 25 minutes of CPU with a cold
# cache; the binaries are kept in $FERRY_E2E_CACHE). The images the selected specs run are built
# under their upstream names and tags, as upstream in what the specs rely on
# (test/utils/image/manifest.go; test/images/*/Dockerfile), on a Debian
# bookworm root filesystem from the machine's apt mirror:
#   agnhost             Debian + the tools upstream's image installs (a shell,
#                       curl, netcat, dig, iproute2, iperf, socat, util-linux),
#                       /uploads, porter's certificate, agnhost-2, the
#                       user-defined-in-image user (1000) and group (50000),
#                       /coredns; entrypoint /agnhost, command pause
#   glibc-dns-testing   Debian + dnsutils + /coredns (upstream: the same, on bookworm-slim)
#   nginx (two tags)    Debian's nginx serving on port 80 (upstream: nginx 1.27/1.28 on Alpine)
#   busybox             Debian's busybox-static with its applets, nothing else
# Deviations, none of which a selected spec reads: no STOPSIGNAL on nginx
# (upstream: SIGQUIT; docker import takes no STOPSIGNAL), Debian's package versions
# (nginx 1.22, busybox 1.35), glibc where upstream's agnhost has musl, and
# the node image's CoreDNS build as /coredns (upstream: 1.6.2 and 1.5.0
# release binaries). agnhost's fake registry (/var/registry, pulled with
# crane when upstream builds it) is left out: only sig-node image-pull specs
# use it.
#
# Env: PROCS (parallel ginkgo processes, default 4), KEEP=1 keeps the
# cluster, FOCUS/SKIP replace a single set's selection, MIRROR the Debian
# mirror. Each set's JUnit report and log go to $OUT (default
# /tmp/ferry-conformance); the summary (run, passed, failed, skipped per set,
# and each failure with the reason it cannot pass here when there is one
# known) is printed and written to $OUT/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

sets=("$@")
((${#sets[@]})) || sets=(network storage netpol)
for s in "${sets[@]}"; do
	case $s in network | storage | netpol) ;; *) echo "conformance: unknown set $s (network, storage, netpol)" >&2; exit 2 ;; esac
done

k8s=$(sed -n 's/^\s*KubernetesVersion\s*=\s*"\(.*\)"/\1/p' bootstrap/nodeimage/versions.go)
cache=${FERRY_E2E_CACHE:-/var/cache/ferry/k8s-e2e-$k8s}
imgcache=/var/cache/ferry/conformance
out=${OUT:-/tmp/ferry-conformance}
procs=${PROCS:-4}
name=conformance
mkdir -p "$cache" "$imgcache" "$out"
log() { echo "conformance: $*"; }
t0=$(date +%s)
step() { log "$1 ($(( $(date +%s) - t0 ))s so far)"; }

# The reasons a spec cannot pass on these machines, matched against its
# name; a failure matching none of them is ferry's to fix.
declare -A known=(
	["SCTP"]="this kernel has no SCTP module (the upstream specs are [Feature:SCTPConnectivity])"
)

# 1. e2e.test, agnhost and ginkgo from the module, with the node image's
#    Kubernetes dependency pins.
if [[ ! -x $cache/e2e.test || ! -x $cache/agnhost || ! -x $cache/ginkgo ]]; then
	step "building e2e.test, agnhost and ginkgo $k8s (a cold build takes a while)"
	sed 's|^module .*|module ferry.local/k8se2e|' bootstrap/nodeimage/assets/k8sbuild/go.mod.tmpl >"$cache/go.mod"
	cp bootstrap/nodeimage/assets/k8sbuild/go.sum "$cache/go.sum"
	(
		cd "$cache"
		# The node image's flags (bootstrap/nodeimage/steps.go), so that the
		# Kubernetes packages it compiled come from the build cache.
		export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=mod -buildvcs=false -trimpath"
		go test -c -vet=off -o e2e.test k8s.io/kubernetes/test/e2e
		go build -o agnhost k8s.io/kubernetes/test/images/agnhost
		go build -o ginkgo github.com/onsi/ginkgo/v2/ginkgo
	)
fi
src=$(cd "$cache" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' k8s.io/kubernetes)

# 2. The images, named as test/utils/image/manifest.go names them.
tag() { # tag NAME: NAME's tag in the manifest
	sed -n "s/.*Config{list\.[A-Za-z0-9]*, \"$1\", \"\([^\"]*\)\"}.*/\1/p" "$src/test/utils/image/manifest.go" | head -1
}
e2e=registry.k8s.io/e2e-test-images
agnhost=$e2e/agnhost:$(cat "$src/test/images/agnhost/VERSION")
glibc=$e2e/glibc-dns-testing:$(tag glibc-dns-testing)
busybox=$e2e/busybox:$(tag busybox)
nginxes=()
while read -r t; do nginxes+=("$e2e/nginx:$t"); done < <(sed -n 's/.*Config{list\.[A-Za-z0-9]*, "nginx", "\([^"]*\)"}.*/\1/p' "$src/test/utils/image/manifest.go")
images=("$agnhost" "$glibc" "$busybox" "${nginxes[@]}")
for i in "${images[@]}"; do [[ $i != *: ]] || { log "no tag for $i in manifest.go"; exit 1; }; done

mirror=${MIRROR:-$(grep -h -E '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -o -m1 -E 'https?://[^ ]*/debian/?( |$)' | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$imgcache/rootfs-bookworm
pkgs=bash,curl,dnsutils,netcat-openbsd,iproute2,iperf,socat,util-linux,iputils-ping,procps,nginx-light,ca-certificates
if [[ ! -f $rootfs/.ferry-done || $(cat "$rootfs/.ferry-done") != "$pkgs" ]]; then
	step "debootstrap Debian bookworm with $pkgs from $mirror"
	rm -rf "$rootfs"
	debootstrap --variant=minbase --include="$pkgs" bookworm "$rootfs" "$mirror" >"$imgcache/debootstrap.log" 2>&1 ||
		{ tail -20 "$imgcache/debootstrap.log"; exit 1; }
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
	echo "$pkgs" >"$rootfs/.ferry-done"
fi
coredns=$(ls -1 /var/cache/ferry/nodeimage/bin-*/coredns 2>/dev/null | head -1 || true)
[[ -n $coredns ]] || { log "no CoreDNS build in /var/cache/ferry/nodeimage (make node-image builds it)"; exit 1; }

# import REF DIR CHANGE...: DIR as the image REF.
import() {
	local ref=$1 dir=$2
	shift 2
	local changes=()
	for c in "$@"; do changes+=(--change "$c"); done
	tar -C "$dir" --exclude ./.ferry-done -c . | docker import "${changes[@]}" - "$ref" >/dev/null
	log "built $ref"
}
stage=$imgcache/stage
build_images() {
	rm -rf "$stage" && mkdir -p "$stage"
	# agnhost: the tools, then what its Dockerfile adds.
	cp -a "$rootfs" "$stage/agnhost"
	a=$stage/agnhost
	install -m 0755 "$cache/agnhost" "$a/agnhost"
	ln -sf agnhost "$a/agnhost-2"
	install -m 0755 "$coredns" "$a/coredns"
	mkdir -p "$a/uploads"
	cp "$src/test/images/agnhost/porter/localhost.crt" "$src/test/images/agnhost/porter/localhost.key" "$a/"
	ln -sf /usr/bin/iperf "$a/usr/local/bin/iperf"
	chroot "$a" sh -c 'groupadd -g 50000 group-defined-in-image && useradd -u 1000 -M -s /bin/sh user-defined-in-image && usermod -aG group-defined-in-image user-defined-in-image'
	import "$agnhost" "$a" 'ENTRYPOINT ["/agnhost"]' 'CMD ["pause"]' 'EXPOSE 80 8080 8081 9376 5000'
	rm -rf "$a"
	# glibc-dns-testing: Debian, dnsutils, /coredns.
	cp -a "$rootfs" "$stage/glibc"
	install -m 0755 "$coredns" "$stage/glibc/coredns"
	import "$glibc" "$stage/glibc" 'CMD ["bash"]'
	rm -rf "$stage/glibc"
	# nginx: Debian's, in the foreground on port 80.
	for n in "${nginxes[@]}"; do
		import "$n" "$rootfs" 'CMD ["nginx", "-g", "daemon off;"]' 'EXPOSE 80'
	done
	# busybox: the static binary and its applets.
	b=$stage/busybox
	mkdir -p "$b/bin" "$b/tmp" "$b/etc" "$b/root"
	cp "$(command -v busybox)" "$b/bin/busybox" # busybox-static: no libraries needed
	for applet in $("$b/bin/busybox" --list); do [[ -e $b/bin/$applet ]] || ln -s busybox "$b/bin/$applet"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$b/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\n' >"$b/etc/group"
	import "$busybox" "$b" 'CMD ["sh"]'
	rm -rf "$stage"
}
missing=0
for i in "${images[@]}"; do docker image inspect "$i" >/dev/null 2>&1 || missing=1; done
if ((missing)); then
	step "building the test images"
	command -v busybox >/dev/null || { log "busybox-static is not installed (hack/setup-host.sh installs it)"; exit 1; }
	build_images
fi

# 3. The cluster: a control plane and two workers, the node agents enforcing policies.
make -s build
export KUBECONFIG=$out/kubeconfig
[[ ${KEEP:-} == 1 ]] || trap './bin/ferry down --name $name >/dev/null 2>&1 || true' EXIT
step "ferry up --name $name --workers 2"
./bin/ferry up --name $name --workers 2 --platform=false --gpu off
step "loading ${#images[@]} images onto the nodes"
./bin/ferry image load --name $name "${images[@]}"

# 4. The sets, one after the other.
declare -A focus=(
	[network]='\[sig-network\].*\[Conformance\]'
	[storage]='\[sig-storage\].*\[Conformance\]'
	[netpol]='\[sig-network\] Netpol'
)
declare -A skip=(
	[network]='\[Disruptive\]'
	[storage]='\[Disruptive\]'
	[netpol]='SCTPConnectivity|\[Disruptive\]'
)
# ginkgo_run SET PART PROCS FOCUS SKIP: one pass, its report junit-SET-PART.xml.
ginkgo_run() {
	local s=$1 part=$2 p=$3 f=$4 k=$5 r=0
	"$cache/ginkgo" --no-color --procs="$p" --timeout=2h --focus="$f" --skip="$k" --junit-report="junit-$s-$part.xml" --output-dir="$out" \
		"$cache/e2e.test" -- --kubeconfig="$KUBECONFIG" --provider=local --report-dir="$out" >"$out/e2e-$s-$part.log" 2>&1 || r=$?
	# ginkgo exits 1 when the focus matches nothing, which is not a failure.
	if ((r)) && grep -q 'Ran 0 of' "$out/e2e-$s-$part.log"; then r=0; fi
	return "$r"
}
rc=0
for s in "${sets[@]}"; do
	f=${focus[$s]} k=${skip[$s]}
	if ((${#sets[@]} == 1)); then f=${FOCUS:-$f} k=${SKIP:-$k}; fi
	# Specs marked [Serial] run after the others, one at a time, as upstream runs them.
	step "set $s: focus $f, skip $k; [Serial] specs after the rest"
	s0=$(date +%s) src_rc=0
	ginkgo_run "$s" parallel "$procs" "$f" "$k|\[Serial\]" || src_rc=$?
	ginkgo_run "$s" serial 1 "$f.*\[Serial\]|\[Serial\].*$f" "$k" || src_rc=$?
	echo "$s $src_rc $(( $(date +%s) - s0 ))" >"$out/time-$s"
	printf '%s\n%s\n' "$f" "$k" >"$out/focus-$s"
	((src_rc == 0)) || rc=1
	step "set $s: exit $src_rc after $(( $(date +%s) - s0 ))s"
done

# 5. The summary, from the JUnit reports.
known_py=$(for k in "${!known[@]}"; do printf '%s\t%s\n' "$k" "${known[$k]}"; done)
python3 - "$out" "$known_py" "${sets[@]}" <<'EOF' | tee "$out/summary.txt"
import re, sys, xml.etree.ElementTree as ET
out, known, sets = sys.argv[1], [l.split("\t", 1) for l in sys.argv[2].splitlines() if l], sys.argv[3:]
for s in sets:
    name, rc, secs = open(f"{out}/time-{s}").read().split()
    focus, skip = open(f"{out}/focus-{s}").read().split("\n")[:2]
    # Every pass reports the whole suite, the specs it did not run as
    # skipped: a spec's state is what the pass that ran it found.
    state, problems = {}, []
    for part in ("parallel", "serial"):
        try:
            cases = ET.parse(f"{out}/junit-{s}-{part}.xml").getroot().iter("testcase")
        except (OSError, ET.ParseError) as e:
            problems.append(f"{part} pass: no report ({e}), see {out}/e2e-{s}-{part}.log")
            continue
        for c in cases:
            n = c.get("name", "")
            failed = c.find("failure") is not None or c.find("error") is not None
            if n.startswith(("[SynchronizedBeforeSuite]", "[SynchronizedAfterSuite]", "[BeforeSuite]", "[AfterSuite]", "[ReportAfterSuite]", "[DeferCleanup")):
                if failed:
                    problems.append(f"{part} pass: {n} failed, see {out}/e2e-{s}-{part}.log")
                continue
            if not re.search(focus, n):
                continue
            if c.find("skipped") is None:
                state[n] = "failed" if failed else "passed"
            else:
                state.setdefault(n, "skipped")
    count = {k: sum(1 for v in state.values() if v == k) for k in ("passed", "failed", "skipped")}
    print(f"{s}: {count['passed'] + count['failed']} run, {count['passed']} passed, {count['failed']} failed, "
          f"{count['skipped']} skipped (skip: {skip}), in {secs}s")
    for p in problems:
        print(f"  PROBLEM {p}")
    for n in sorted(n for n, v in state.items() if v == "failed"):
        why = next((r for k, r in known if k in n), "")
        print(f"  FAILED {n}\n    " + (f"cannot pass here: {why}" if why else "not explained: ferry's to fix"))
EOF
log "done in $(( $(date +%s) - t0 ))s; reports in $out"
exit "$rc"
