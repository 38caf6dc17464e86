// Package nodeimage builds ferry's kind node image from what an air-gapped
// site can reach: a Debian mirror (debootstrap) and a Go module proxy
// (Kubernetes, etcd, containerd, CoreDNS, crictl and the local-path provisioner are built
// from source). Every input is hashed into the image tag, so an unchanged
// input set reuses the image, and each step's output is cached on disk.
package nodeimage
