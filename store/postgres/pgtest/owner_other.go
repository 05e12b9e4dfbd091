//go:build !unix

package pgtest

import "os/exec"

// runAs does nothing: outside Unix, os.Geteuid never reports root, so
// no cluster has an owner to run as.
func runAs(*exec.Cmd, *owner) {}
