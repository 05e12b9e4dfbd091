// Package templates holds the server-rendered HTML of the SSO onboarding
// portal (package sso/portal) and of the SSO end-user pages (package
// sso): one template per page, rendered in the shared layout of package
// pages, and frame.html, the portal's header and step navigation.
package templates

import "embed"

// FS holds the templates (*.html).
//
//go:embed *.html
var FS embed.FS
