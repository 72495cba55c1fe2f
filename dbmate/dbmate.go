// Package dbmate holds the migrations of the public schema and of every tenant
// schema, embedded so that the binary migrates from any directory.
package dbmate

import "embed"

// Public holds the migrations of the public schema, under public/.
//
//go:embed public/*.sql
var Public embed.FS

// Tenant holds the migrations applied to every tenant schema, under tenant/.
//
//go:embed tenant/*.sql
var Tenant embed.FS
