package cli

import (
	"runtime/debug"
	"strings"
)

// Version is tenantctl's version, set when building a release:
//
//	go build -ldflags "-X github.com/tenantctl/tenantctl/cli.Version=v1.2.3" ./cmd/tenantctl
//
// It is "dev" otherwise. tenantctl --version adds the commit it was built
// from when the Go toolchain recorded it.
var Version = "dev"

// versionText is what --version prints after "tenantctl version ": the
// version, and, if the build recorded them, the commit (with "modified" for
// a build from a dirty tree), its time and the Go version.
func versionText(v string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev, at string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var parts []string
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		c := "commit " + rev
		if modified {
			c += " (modified)"
		}
		if at != "" {
			c += " of " + at
		}
		parts = append(parts, c)
	}
	if info.GoVersion != "" {
		parts = append(parts, info.GoVersion)
	}
	if len(parts) == 0 {
		return v
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}
