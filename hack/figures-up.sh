#!/usr/bin/env bash
# Figures for the platform install, measured in one run on this machine:
#   1. the baseline: bare `kind create cluster` with ferry's node image and
#      config, without --wait. That is kind's own work (node containers,
#      kubeadm init and join, API server answering) and all kind can do with
#      this image: it has no CNI (ferry's node agent is the pod network), so
#      `--wait` would never see a Ready node.
#   2. `ferry up` from nothing (that cluster, the node agent until every node
#      is Ready, smoke test, platform image, charts, login), with each of
#      up's own steps as it reports them
#   3. `ferry up` again with nothing changed
#   4. the control-plane pod's working set, idle
# The node image must exist (make node-image). Prints a summary at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

make -s build
tmp=$(mktemp -d)
export KUBECONFIG=$tmp/kubeconfig FERRY_CONFIG=$tmp/ferry.yaml
cleanup() {
	"$tmp/kind" delete cluster --name fig-kind >/dev/null 2>&1 || true
	./bin/ferry down --name fig-ferry >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/kind" sigs.k8s.io/kind
image=$(./bin/ferry node-image tag)
docker image inspect "$image" >/dev/null || { echo "node image $image missing: make node-image" >&2; exit 1; }
./bin/ferry up --dry-run --name fig-kind >"$tmp/kind.yaml"

secs() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

t0=$(secs)
KIND_EXPERIMENTAL_DOCKER_NETWORK=ferry "$tmp/kind" create cluster --name fig-kind --image "$image" --config "$tmp/kind.yaml"
t1=$(secs)
bare=$(elapsed "$t0" "$t1")
"$tmp/kind" delete cluster --name fig-kind

t0=$(secs)
./bin/ferry up --name fig-ferry --gpu off 2>&1 | tee "$tmp/up.log"
t1=$(secs)
full=$(elapsed "$t0" "$t1")

t0=$(secs)
./bin/ferry up --name fig-ferry --gpu off
t1=$(secs)
again=$(elapsed "$t0" "$t1")

sleep 30 # idle, and let the kubelet take a sample
pod=$(kubectl -n ferry-system get pods -l app.kubernetes.io/component=control-plane -o jsonpath='{.items[0].metadata.name}')
node=$(kubectl -n ferry-system get pods -l app.kubernetes.io/component=control-plane -o jsonpath='{.items[0].spec.nodeName}')
ws=$(kubectl get --raw "/api/v1/nodes/$node/proxy/stats/summary" |
	jq --arg p "$pod" '.pods[] | select(.podRef.name == $p) | .containers[0].memory.workingSetBytes')

printf '\n%-58s %8.1f s\n' "baseline: kind create cluster, same image and config" "$bare"
printf '  %s\n' "(kind's own work: node containers, kubeadm, API up; no --wait: without" \
	"a CNI the nodes stay NotReady, ferry's node agent is what makes them Ready)"
printf '%-58s %8.1f s  (%.2fx the baseline)\n' "ferry up from nothing (cluster + platform + login)" "$full" "$(echo "$full / $bare" | bc -l)"
echo "  up's own steps:"
grep -E '^[[:space:]]*(✓|✗) ' "$tmp/up.log" | sed 's/^/    /' || true
printf '%-58s %8.1f s\n' "ferry up again, nothing changed" "$again"
printf '%-58s %8.1f MiB\n' "control-plane pod working set, idle" "$(echo "$ws / 1048576" | bc -l)"
