#!/usr/bin/env bash
# make release: every platform's archive, with checksums, into dist/.
#
# ferry runs on linux/amd64, linux/arm64, darwin/amd64, darwin/arm64 and
# windows/amd64. Its platform image holds a Linux ferry for the nodes'
# architecture, so every archive carries, beside the ferry executable, the
# Linux builds it is not itself (ferry-linux-amd64, ferry-linux-arm64) and
# carried.json naming their SHA-256 and the version and commit all builds
# share (bootstrap/linuxbin checks them). Then the builds that can run here
# are started: the linux/amd64 one directly, the linux/arm64 one under
# qemu-aarch64-static (Debian's qemu-user-static), and each archive's
# `ferry version` must report the same version and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
OUT=${OUT:-dist}
PLATFORMS=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)
LDFLAGS="-s -w -X github.com/ferry-ml/ferry/internal/version.Version=$VERSION -X github.com/ferry-ml/ferry/internal/version.Commit=$COMMIT"
log() { echo "release: $*"; }

rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/stage"
start=$(date +%s)
for p in "${PLATFORMS[@]}"; do
	os=${p%/*} arch=${p#*/} ext=
	[[ $os == windows ]] && ext=.exe
	t0=$(date +%s)
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$LDFLAGS" -o "$OUT/bin/$os-$arch/ferry$ext" ./cmd/ferry
	log "built $p in $(( $(date +%s) - t0 ))s ($(du -h "$OUT/bin/$os-$arch/ferry$ext" | cut -f1))"
done

for p in "${PLATFORMS[@]}"; do
	os=${p%/*} arch=${p#*/} ext=
	[[ $os == windows ]] && ext=.exe
	name=ferry-$VERSION-$os-$arch
	stage=$OUT/stage/$name
	mkdir -p "$stage"
	cp "$OUT/bin/$os-$arch/ferry$ext" "$stage/"
	cp README.md "$stage/"
	builds=()
	for la in amd64 arm64; do
		[[ $os == linux && $arch == "$la" ]] && continue
		cp "$OUT/bin/linux-$la/ferry" "$stage/ferry-linux-$la"
		builds+=("\"linux/$la\": {\"file\": \"ferry-linux-$la\", \"sha256\": \"$(sha256sum "$stage/ferry-linux-$la" | cut -d' ' -f1)\"}")
	done
	(IFS=,; printf '{"version": "%s", "commit": "%s", "builds": {%s}}\n' "$VERSION" "$COMMIT" "${builds[*]}") >"$stage/carried.json"
	if [[ $os == windows ]]; then
		(cd "$OUT/stage" && python3 -c 'import sys, zipfile, pathlib
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(pathlib.Path(sys.argv[2]).rglob("*")):
        z.write(f)' "../$name.zip" "$name")
	else
		tar -C "$OUT/stage" -czf "$OUT/$name.tar.gz" "$name"
	fi
done
(cd "$OUT" && sha256sum ./*.tar.gz ./*.zip | sed 's#\./##' >SHA256SUMS)
log "archives:"
(cd "$OUT" && ls -l ./*.tar.gz ./*.zip | awk '{printf "  %s %d MB\n", $NF, $5/1048576}')

# What can run here runs, and says the same version and commit.
check() { # check LABEL CMD...
	local got
	got=$("${@:2}" version -o json)
	python3 -c 'import json, sys
v = json.loads(sys.argv[1])
assert v["version"] == sys.argv[2] and v["commit"] == sys.argv[3], v
print("release: %s: ferry %s %s, platform image for %s" % (sys.argv[4], v["platform"], v["version"],
      ", ".join(b["platform"] for b in v["carries"] if not b.get("problem")) or "none"))' "$got" "$VERSION" "$COMMIT" "$1"
}
check "linux/amd64 archive" "$OUT/stage/ferry-$VERSION-linux-amd64/ferry"
if command -v qemu-aarch64-static >/dev/null; then
	check "linux/arm64 archive, under qemu" qemu-aarch64-static "$OUT/stage/ferry-$VERSION-linux-arm64/ferry"
else
	log "qemu-aarch64-static not installed (hack/setup-host.sh installs qemu-user-static): the arm64 build was not started"
fi
# The darwin and windows builds cannot start here; their carried Linux
# builds are the linux/amd64 archive's and are checked by digest.
for p in darwin/amd64 darwin/arm64 windows/amd64; do
	os=${p%/*} arch=${p#*/}
	stage=$OUT/stage/ferry-$VERSION-$os-$arch
	(cd "$stage" && python3 -c 'import json, hashlib
m = json.load(open("carried.json"))
for plat, b in sorted(m["builds"].items()):
    assert hashlib.sha256(open(b["file"], "rb").read()).hexdigest() == b["sha256"], plat')
	log "$p archive: carried builds match carried.json"
done
rm -rf "$OUT/bin"
log "done in $(( $(date +%s) - start ))s: $OUT/SHA256SUMS"
