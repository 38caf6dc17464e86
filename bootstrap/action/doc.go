// Package action is ferry's bootstrap as a library, in the manner of helm's
// pkg/action: one Configuration shared by every action (the target cluster,
// how to make a Kubernetes client, the progress printer, the version), and
// one struct per verb of the CLI (Up, Uninstall, Status), each built from
// the Configuration, validated, and run with Run(ctx).
//
// The target is an interface with two implementations, so that no action
// branches on local versus remote: Local is a kind cluster that ferry makes
// on this machine's container engine (bootstrap/kind), Remote is an existing
// cluster named by a kubeconfig and/or a context. Up is an ordered list of
// named steps; the targets decide what each step means for them.
package action
