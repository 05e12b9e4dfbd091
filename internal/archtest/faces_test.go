package archtest

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-id/gatehouse"

// faces are the packages that serve a wire format, relative to the module.
var faces = []string{"identity/api", "profile", "tokens/provider", "sso", "sso/ssoapi", "sso/portal"}

// services are the faces a face may import because they are also its
// service: package sso is the SSO service as well as its hosted sign-in
// pages, and its management API (sso/ssoapi) and admin portal
// (sso/portal) call that service.
var services = map[string][]string{
	"sso/ssoapi": {"sso"},
	"sso/portal": {"sso"},
}

// deps returns the module packages pkg imports, directly or not (test
// files excluded), each with the chain of imports that reaches it.
func deps(t *testing.T, root, pkg string) map[string]string {
	t.Helper()
	seen := map[string]string{}
	var walk func(rel, via string)
	walk = func(rel, via string) {
		p, err := build.Default.ImportDir(filepath.Join(root, filepath.FromSlash(rel)), 0)
		if err != nil {
			t.Fatalf("reading %s: %v", rel, err)
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if _, ok := seen[dep]; ok {
				continue
			}
			seen[dep] = via + " -> " + dep
			walk(dep, seen[dep])
		}
	}
	walk(pkg, pkg)
	return seen
}

// TestNoFaceImportsAnother fails when a face depends on another face, so
// that a rule or helper two faces need lands in identity or internal/
// instead of being borrowed from a sibling face.
func TestNoFaceImportsAnother(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, face := range faces {
		t.Run(face, func(t *testing.T) {
			d := deps(t, root, face)
			for _, other := range faces {
				if other == face || slices.Contains(services[face], other) {
					continue
				}
				if chain, ok := d[other]; ok {
					t.Errorf("face %s imports face %s (%s)", face, other, chain)
				}
			}
		})
	}
}
