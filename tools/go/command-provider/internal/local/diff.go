package local

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// DiffResult is the provider's answer to Diff.
type DiffResult struct {
	// Changes is true when any input differs.
	Changes bool
	// Detailed maps each changed property path ("environment.FOO", "triggers[0]") to its kind.
	Detailed map[string]plugin.PropertyDiff
}

// replaceOnChanges is the one input upstream tags `provider:"replaceOnChanges"`
// (provider/pkg/provider/common/inputs.go).
const replaceOnChanges = "triggers"

// Diff compares the new inputs with the old ones (pulumi-go-provider v1.3.0 infer/resource.go diff,
// the default diff local.Command gets because it defines no Diff of its own):
//
//   - ignoreChanges names are looked up as top-level keys of the old state and copied over the new
//     inputs (nested paths find nothing here: the engine applies ignoreChanges itself before Check);
//   - "version" and "__"-prefixed keys of the new inputs are dropped;
//   - the old inputs are the engine's old_inputs (it always sends them to a provider that, like this
//     one, runs under an engine with SendsOldInputs), else the input keys of the old state;
//   - the detailed diff is the sdk's property-path diff of old vs new inputs;
//   - a path is forced to replace only when it is exactly "triggers", i.e. when triggers appear or
//     disappear as a whole. A change inside the list ("triggers[0]") stays an update here, because
//     upstream looks the full path up among the schema's property names. Replacement on a changed
//     trigger comes from the SDKs: @pulumi/command registers every Command with the resource option
//     replaceOnChanges: ["triggers[*]"], which the engine applies to this detailed diff.
//
// Every other input change is an update; Update then re-runs `update`, or `create` when there is no
// `update`.
func Diff(state, oldInputs, news resource.PropertyMap, ignoreChanges []string, haveOldInputs bool) DiffResult {
	news = news.Copy()
	for _, k := range ignoreChanges {
		if v, ok := state[resource.PropertyKey(k)]; ok {
			news[resource.PropertyKey(k)] = v
		}
	}
	for k := range news {
		if k == "version" || strings.HasPrefix(string(k), "__") {
			delete(news, k)
		}
	}

	olds := oldInputs
	if !haveOldInputs {
		olds = resource.PropertyMap{}
		for _, k := range commandInputNames {
			if v, ok := state[k]; ok {
				olds[k] = v
			} else {
				olds[k] = resource.NewNullProperty()
			}
		}
	}

	objDiff := olds.Diff(news)
	detailed := plugin.NewDetailedDiffFromObjectDiff(objDiff, false)
	for k, v := range detailed {
		if k == replaceOnChanges {
			v.Kind = v.Kind.AsReplace()
			detailed[k] = v
		}
	}
	return DiffResult{Changes: objDiff.AnyChanges(), Detailed: detailed}
}

// TopLevel returns the distinct top-level property names of the detailed diff's paths, split into all
// changed ones and those that force a replacement (pulumi-go-provider v1.3.0 provider.go
// DiffResponse.rpc, which fills the response's diffs and replaces this way).
func (d DiffResult) TopLevel() (diffs, replaces []string) {
	seenD, seenR := map[string]bool{}, map[string]bool{}
	for path, pd := range d.Detailed {
		head := path
		if pp, err := resource.ParsePropertyPath(path); err == nil && len(pp) > 0 {
			if s, ok := pp[0].(string); ok {
				head = s
			}
		}
		if !seenD[head] {
			seenD[head] = true
			diffs = append(diffs, head)
		}
		if isReplace(pd.Kind) && !seenR[head] {
			seenR[head] = true
			replaces = append(replaces, head)
		}
	}
	return diffs, replaces
}

func isReplace(k plugin.DiffKind) bool {
	return k == plugin.DiffAddReplace || k == plugin.DiffDeleteReplace || k == plugin.DiffUpdateReplace
}
