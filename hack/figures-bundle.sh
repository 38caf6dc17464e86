#!/usr/bin/env bash
# Bundle figures, measured in one run against docker save / docker load of
# the same images: size (layer sharing) and throughput in MiB/s.
# Needs the node image (make node-image) and writes ~3 GiB under $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."

make -s build
tmp=$(mktemp -d)
node=$(./bin/ferry node-image tag)
user=ferry-figures/user:1
restore() {
	docker image inspect "$node" >/dev/null 2>&1 || docker load -i "$tmp/save.tar" >/dev/null
	rm -rf "$tmp"
}
trap restore EXIT

# A user image: the ferry binary in a scratch image.
cp bin/ferry "$tmp/ferry"
printf 'FROM scratch\nCOPY ferry /ferry\nENTRYPOINT ["/ferry"]\n' >"$tmp/Dockerfile"
docker build -q -t "$user" "$tmp" >/dev/null

secs() { date +%s.%N; }
mib() { echo "scale=1; $(stat -c %s "$1") / 1048576" | bc; }
rate() { echo "scale=1; $1 / ($3 - $2)" | bc; }

images_mib=$(docker image inspect -f '{{.Size}}' "$node" "$user" | awk '{s+=$1} END {printf "%.1f", s/1048576}')

t0=$(secs); docker save -o "$tmp/save.tar" "$node" "$user"; t1=$(secs)
save_mib=$(mib "$tmp/save.tar"); save_rate=$(rate "$save_mib" "$t0" "$t1")

t0=$(secs); ./bin/ferry bundle create -o "$tmp/b.tar" --without nvidia-device-plugin --image "$user" 2>/dev/null; t1=$(secs)
bundle_mib=$(mib "$tmp/b.tar"); create_rate=$(rate "$bundle_mib" "$t0" "$t1")

docker rmi "$node" "$user" >/dev/null
t0=$(secs); docker load -i "$tmp/save.tar" >/dev/null; t1=$(secs)
load_rate=$(rate "$save_mib" "$t0" "$t1")

docker rmi "$node" "$user" >/dev/null
t0=$(secs); ./bin/ferry bundle load "$tmp/b.tar" 2>/dev/null; t1=$(secs)
bload_rate=$(rate "$bundle_mib" "$t0" "$t1")

printf '\n%-52s %10s MiB\n' "node image + user image, sum of image sizes" "$images_mib"
printf '%-52s %10s MiB\n' "docker save of both" "$save_mib"
printf '%-52s %10s MiB  (+ platform image, charts, binary)\n' "ferry bundle" "$bundle_mib"
printf '%-52s %10s MiB/s\n' "docker save" "$save_rate"
printf '%-52s %10s MiB/s\n' "ferry bundle create (incl. platform image build)" "$create_rate"
printf '%-52s %10s MiB/s\n' "docker load" "$load_rate"
printf '%-52s %10s MiB/s\n' "ferry bundle load (verify + extract + docker load)" "$bload_rate"
