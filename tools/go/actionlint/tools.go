//go:build tools

// Package tools pins actionlint's command in this module's go.mod and go.sum: scripts/tools.sh builds
// github.com/rhysd/actionlint/cmd/actionlint from here.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
