#!/usr/bin/env bash
# The upstream Kubernetes NetworkPolicy e2e tests against a ferry cluster:
# e2e.test is built from k8s.io/kubernetes at the node image's Kubernetes
# version (test/e2e, focused on the Netpol specs), agnhost (the image those
# specs run) from the same module into a scratch image under its upstream
# name, since there is no registry to pull it from. Then a 3-node ferry
# cluster runs them through ginkgo in parallel.
#
#   hack/netpol-conformance.sh [extra ginkgo flags]
#
# Env: PROCS (parallel ginkgo processes, default 4), KEEP=1 keeps the
# cluster, FOCUS/SKIP override the spec selection. Prints the summary and
# leaves the JUnit report in $OUT (default /tmp/ferry-netpol-conformance).
set -euo pipefail
cd "$(dirname "$0")/.."

k8s=$(sed -n 's/^\s*KubernetesVersion\s*=\s*"\(.*\)"/\1/p' bootstrap/nodeimage/versions.go)
cache=${FERRY_E2E_CACHE:-/var/cache/ferry/k8s-e2e-$k8s}
out=${OUT:-/tmp/ferry-netpol-conformance}
procs=${PROCS:-4}
focus=${FOCUS:-'\[sig-network\] Netpol'}
skip=${SKIP:-'SCTPConnectivity'}
name=netpol
mkdir -p "$cache" "$out"

# 1. e2e.test, agnhost and ginkgo from the module, with the same dependency
#    pins as the node image's Kubernetes build.
if [[ ! -x $cache/e2e.test || ! -x $cache/agnhost || ! -x $cache/ginkgo ]]; then
	sed 's|^module .*|module ferry.local/k8se2e|' bootstrap/nodeimage/assets/k8sbuild/go.mod.tmpl >"$cache/go.mod"
	cp bootstrap/nodeimage/assets/k8sbuild/go.sum "$cache/go.sum"
	(
		cd "$cache"
		export CGO_ENABLED=0 GOFLAGS=-mod=mod
		echo "building e2e.test $k8s (a cold build takes a while)"
		go test -c -vet=off -o e2e.test k8s.io/kubernetes/test/e2e
		go build -o agnhost k8s.io/kubernetes/test/images/agnhost
		go build -o ginkgo github.com/onsi/ginkgo/v2/ginkgo
	)
fi
agnhost_version=$(cat "$(go env GOMODCACHE)/k8s.io/kubernetes@$k8s/test/images/agnhost/VERSION")
agnhost=registry.k8s.io/e2e-test-images/agnhost:$agnhost_version
if ! docker image inspect "$agnhost" >/dev/null 2>&1; then
	ctx=$(mktemp -d)
	cp "$cache/agnhost" "$ctx/agnhost"
	printf 'FROM scratch\nCOPY agnhost /agnhost\nENTRYPOINT ["/agnhost"]\n' >"$ctx/Dockerfile"
	docker build -q -t "$agnhost" "$ctx"
	rm -rf "$ctx"
fi

# 2. A ferry cluster: a control plane and two workers, its node agents enforcing the policies.
make -s build
export KUBECONFIG=$out/kubeconfig
[[ ${KEEP:-} == 1 ]] || trap './bin/ferry down --name $name >/dev/null 2>&1 || true' EXIT
./bin/ferry up --name $name --workers 2 --platform=false
./bin/ferry image load --name $name "$agnhost"

# 3. The specs.
start=$(date +%s)
set +e
"$cache/ginkgo" --no-color --procs="$procs" --timeout=2h --focus="$focus" --skip="$skip" --junit-report=junit.xml --output-dir="$out" "$@" \
	"$cache/e2e.test" -- --kubeconfig="$KUBECONFIG" --provider=local --report-dir="$out" 2>&1 | tee "$out/e2e.log"
rc=${PIPESTATUS[0]}
set -e
echo "ginkgo exit $rc after $(( $(date +%s) - start ))s; report $out/junit.xml"
grep -E '^(Ran [0-9]+ of|PASS|FAIL)|Passed \| [0-9]+ Failed' "$out/e2e.log" | tail -5 || true
exit "$rc"
