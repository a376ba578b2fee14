package local

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The lifecycle of command:local:Command. Each function follows one method of
// provider/pkg/provider/local/commandController.go as pulumi-go-provider v1.3.0's infer layer
// (infer/resource.go) wraps it; maps are the engine's property maps with secrets and unknowns kept.

// Check validates the new inputs and returns them unchanged (infer/resource.go Check: no defaults are
// declared, so the default check only decodes). A misfit is a check failure, not an error.
func Check(news resource.PropertyMap) (resource.PropertyMap, []Failure, error) {
	_, merr := decode[CommandInputs](news, false)
	failures, err := asFailures(merr)
	if err != nil {
		return nil, nil, err
	}
	return news, failures, nil
}

// Create runs `create` (commandController.go Create). The ID is the resource name plus 8 random hex
// digits. In a preview, or without `create`, nothing runs. The outputs echo the inputs and add
// stdout/stderr: unknown in a preview, "" when nothing ran. A failed command is an error with no
// partial state, so the engine records nothing.
func Create(ctx context.Context, name string, inputs resource.PropertyMap, preview bool, log LogFunc,
) (string, resource.PropertyMap, error) {
	in, err := decodeStrict[CommandInputs](inputs)
	if err != nil {
		return "", nil, fmt.Errorf("invalid inputs: %w", err)
	}
	id, err := resource.NewUniqueHex(name, 8, 0)
	if err != nil {
		return "", nil, err
	}
	var out BaseOutputs
	if !preview && in.Create != nil {
		if err := run(ctx, *in.Create, in.BaseInputs, &out, log); err != nil {
			return "", nil, err
		}
	}
	outs := commandOutputs(inputs, out, nil)
	markOutputs(outs, nil, inputs, true, preview)
	return id, outs, nil
}

// Update runs `update`, or `create` when there is no `update` (commandController.go Update), with the
// new inputs and the old stdout/stderr offered as PULUMI_COMMAND_STDOUT/STDERR. With neither command,
// or in a preview, nothing runs and the old stdout/stderr are kept; in a preview they turn unknown when
// an input changed (markers.go).
func Update(ctx context.Context, state, news resource.PropertyMap, ignoreChanges []string, preview bool,
	log LogFunc,
) (resource.PropertyMap, error) {
	news = news.Copy()
	for _, k := range ignoreChanges {
		if v, ok := state[resource.PropertyKey(k)]; ok {
			news[resource.PropertyKey(k)] = v
		}
	}
	olds, err := decodeStrict[CommandOutputs](state)
	if err != nil {
		return nil, err
	}
	in, err := decodeStrict[CommandInputs](news)
	if err != nil {
		return nil, err
	}
	out := olds.BaseOutputs
	if !preview {
		cmd := in.Create
		if in.Update != nil {
			cmd = in.Update
		}
		if cmd != nil {
			if err := run(ctx, *cmd, in.BaseInputs, &out, log); err != nil {
				return nil, err
			}
		}
	}
	outs := commandOutputs(news, out, state)
	markOutputs(outs, state, news, false, preview)
	return outs, nil
}

// Delete runs `delete`, if any, with the inputs recorded in the state (environment, dir, interpreter,
// stdin, logging) and the state's stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR
// (commandController.go Delete). A failed command is an error: the engine keeps the resource.
func Delete(ctx context.Context, state resource.PropertyMap, log LogFunc) error {
	olds, err := decodeStrict[CommandOutputs](state)
	if err != nil {
		return err
	}
	if olds.Delete == nil {
		return nil
	}
	out := olds.BaseOutputs
	return run(ctx, *olds.Delete, olds.BaseInputs, &out, log)
}

// Read is refresh/import: local.Command has no Read of its own, so upstream only checks that the state
// decodes (strictly, else tolerating missing fields) and hands state and inputs back unchanged
// (infer/resource.go Read, "Default read implementation"). Nothing runs.
func Read(state resource.PropertyMap) error {
	if _, merr := decode[CommandOutputs](state, false); merr == nil {
		return nil
	}
	if _, merr := decode[CommandOutputs](state, true); merr != nil {
		return merr
	}
	return nil
}

// Run is the command:local:run invoke (provider/pkg/provider/local/runController.go Invoke, wrapped by
// pulumi-go-provider v1.3.0 infer/function.go Invoke): it runs on every call, previews included; the
// result echoes the arguments and adds stdout/stderr. Malformed arguments are failures.
func Run(ctx context.Context, args resource.PropertyMap, log LogFunc) (resource.PropertyMap, []Failure, error) {
	in, merr := decode[RunInputs](args, false)
	failures, err := asFailures(merr)
	if err != nil {
		return nil, nil, err
	}
	if len(failures) > 0 {
		return nil, failures, nil
	}
	var out BaseOutputs
	if err := run(ctx, in.Command, in.BaseInputs, &out, log); err != nil {
		return nil, nil, err
	}
	return commandOutputs(args, out, nil), nil, nil
}

// commandOutputs is the output map: the inputs as given (with their secrets and unknowns), stdout,
// stderr, and assets/archive when this run globbed files, else as the old state had them.
func commandOutputs(inputs resource.PropertyMap, out BaseOutputs, olds resource.PropertyMap) resource.PropertyMap {
	outs := inputs.Copy()
	outs["stdout"] = resource.NewStringProperty(out.Stdout)
	outs["stderr"] = resource.NewStringProperty(out.Stderr)
	if out.newAssets != nil {
		m := resource.PropertyMap{}
		for p, a := range out.newAssets {
			m[resource.PropertyKey(p)] = resource.NewAssetProperty(a)
		}
		outs["assets"] = resource.NewObjectProperty(m)
	} else if v, ok := olds["assets"]; ok {
		outs["assets"] = plain(v, nil)
	}
	if out.newArchive != nil {
		outs["archive"] = resource.NewArchiveProperty(out.newArchive)
	} else if v, ok := olds["archive"]; ok {
		outs["archive"] = plain(v, nil)
	}
	return outs
}
