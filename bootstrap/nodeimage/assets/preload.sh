#!/bin/bash
# Runs inside a privileged container of the node image: imports the component
# images into containerd's k8s.io namespace, as kind's own node images ship them.
set -euo pipefail
(containerd >/tmp/containerd.log 2>&1 &)
for _ in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
ctr -n k8s.io images import --no-unpack --all-platforms --digests /preload/images.tar
ctr -n k8s.io images ls -q
pkill containerd
for _ in $(seq 1 50); do pgrep containerd >/dev/null || break; sleep 0.2; done
rm -rf /tmp/* /var/log/*.log
