// Package local is the castle's stand-in for the `command:local:*` half of pulumi-command v1.2.1.
//
// The package is deliberately named `local` and its types are named like upstream's
// (provider/pkg/provider/local): the sdk's mapper prints the Go type in its check failures
// ("Field 'stdin' on 'local.CommandInputs' must be a 'string'; got 'float64' instead"), so the
// names keep those messages identical to upstream's.
package local

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

// Logging selects which of the command's streams are streamed to the engine while it runs.
// Follows provider/pkg/provider/local/logging.go (type Logging, ShouldLogStdout, ShouldLogStderr):
// unset means both; an unrecognised value (upstream does not validate the enum) means neither.
type Logging string

// The values of Logging that the schema lists (provider/pkg/provider/local/logging.go).
const (
	LogStdout          Logging = "stdout"
	LogStderr          Logging = "stderr"
	LogStdoutAndStderr Logging = "stdoutAndStderr"
	NoLogging          Logging = "none"
)

func (l *Logging) logsStdout() bool {
	return l == nil || *l == LogStdout || *l == LogStdoutAndStderr
}

func (l *Logging) logsStderr() bool {
	return l == nil || *l == LogStderr || *l == LogStdoutAndStderr
}

// ResourceInputs are the lifecycle commands (provider/pkg/provider/common/inputs.go). Upstream tags
// `triggers` with replaceOnChanges; see diff.go for what that does and does not do.
type ResourceInputs struct {
	Triggers *[]any  `pulumi:"triggers,optional"`
	Create   *string `pulumi:"create,optional"`
	Update   *string `pulumi:"update,optional"`
	Delete   *string `pulumi:"delete,optional"`
}

// BaseInputs are the inputs shared by local.Command and local.run (provider/pkg/provider/local/base.go).
type BaseInputs struct {
	Stdin                  *string            `pulumi:"stdin,optional"`
	Logging                *Logging           `pulumi:"logging,optional"`
	Interpreter            *[]string          `pulumi:"interpreter,optional"`
	Dir                    *string            `pulumi:"dir,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	AssetPaths             *[]string          `pulumi:"assetPaths,optional"`
	ArchivePaths           *[]string          `pulumi:"archivePaths,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
}

// BaseOutputs are what a run produces (provider/pkg/provider/local/base.go). Assets and archive read
// from a state stay in their mapper (plain map) form: they are only carried over, as property values,
// by the code that builds outputs. A run that globs files leaves them in the untagged fields.
type BaseOutputs struct {
	Stdout  string          `pulumi:"stdout"`
	Stderr  string          `pulumi:"stderr"`
	Assets  *map[string]any `pulumi:"assets,optional"`
	Archive *map[string]any `pulumi:"archive,optional"`

	newAssets  map[string]*resource.Asset
	newArchive *resource.Archive
}

// CommandInputs are the inputs of command:local:Command (provider/pkg/provider/local/command.go).
// The embedding order matters: the mapper reports failures in field order.
type CommandInputs struct {
	ResourceInputs
	BaseInputs
}

// CommandOutputs are the state of command:local:Command: every input echoed back, plus stdout and
// stderr (provider/pkg/provider/local/command.go).
type CommandOutputs struct {
	CommandInputs
	BaseOutputs
}

// RunInputs are the arguments of the command:local:run invoke (provider/pkg/provider/local/run.go).
type RunInputs struct {
	BaseInputs
	Command string `pulumi:"command"`
}
