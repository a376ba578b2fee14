package local

import (
	"sort"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

func props(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

func TestDiffClassification(t *testing.T) {
	base := map[string]any{
		"create":      "kind create cluster",
		"delete":      "kind delete cluster",
		"environment": map[string]any{"CASTLE_CLUSTER": "castle"},
		"logging":     "stderr",
		"triggers":    []any{"config-v1"},
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	tests := []struct {
		name     string
		olds     map[string]any
		news     map[string]any
		changes  bool
		detailed map[string]plugin.DiffKind
		diffs    []string
		replaces []string
	}{
		{
			name: "no change", olds: base, news: base,
			detailed: map[string]plugin.DiffKind{},
		},
		{
			name: "environment value changes: update",
			olds: base, news: with("environment", map[string]any{"CASTLE_CLUSTER": "other"}),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"environment.CASTLE_CLUSTER": plugin.DiffUpdate},
			diffs:    []string{"environment"},
		},
		{
			name: "environment key added: add inside environment, still an update of the resource",
			olds: base, news: with("environment", map[string]any{"CASTLE_CLUSTER": "castle", "X": "1"}),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"environment.X": plugin.DiffAdd},
			diffs:    []string{"environment"},
		},
		{
			name: "create changes: update", olds: base, news: with("create", "true"),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"create": plugin.DiffUpdate},
			diffs:    []string{"create"},
		},
		{
			name: "update command added: add", olds: base, news: with("update", "true"),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"update": plugin.DiffAdd},
			diffs:    []string{"update"},
		},
		{
			name: "logging removed: delete", olds: base, news: with("logging", nil),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"logging": plugin.DiffDelete},
			diffs:    []string{"logging"},
		},
		{
			// Upstream's forced replace matches only the whole "triggers" path; the SDK's
			// replaceOnChanges: ["triggers[*]"] makes the engine replace on this one.
			name: "a trigger value changes: update at triggers[0]",
			olds: base, news: with("triggers", []any{"config-v2"}),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"triggers[0]": plugin.DiffUpdate},
			diffs:    []string{"triggers"},
		},
		{
			name: "a trigger is appended: add at triggers[1]",
			olds: base, news: with("triggers", []any{"config-v1", "x"}),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"triggers[1]": plugin.DiffAdd},
			diffs:    []string{"triggers"},
		},
		{
			name: "triggers appear: add-replace", olds: with("triggers", nil), news: base,
			changes:  true,
			detailed: map[string]plugin.DiffKind{"triggers": plugin.DiffAddReplace},
			diffs:    []string{"triggers"},
			replaces: []string{"triggers"},
		},
		{
			name: "triggers disappear: delete-replace", olds: base, news: with("triggers", nil),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"triggers": plugin.DiffDeleteReplace},
			diffs:    []string{"triggers"},
			replaces: []string{"triggers"},
		},
		{
			name: "triggers of another type: update-replace", olds: base, news: with("triggers", "scalar"),
			changes:  true,
			detailed: map[string]plugin.DiffKind{"triggers": plugin.DiffUpdateReplace},
			diffs:    []string{"triggers"},
			replaces: []string{"triggers"},
		},
		{
			name: "version and __ keys of the new inputs are ignored",
			olds: base, news: with("version", "1.2.1"),
			detailed: map[string]plugin.DiffKind{},
		},
		{
			name: "internal keys are ignored too", olds: base, news: with("__defaults", []any{}),
			detailed: map[string]plugin.DiffKind{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			olds := props(tt.olds)
			state := olds.Copy()
			state["stdout"] = resource.NewStringProperty("out")
			state["stderr"] = resource.NewStringProperty("")
			d := Diff(state, olds, props(tt.news), nil, true)
			if d.Changes != tt.changes {
				t.Errorf("changes = %v, want %v", d.Changes, tt.changes)
			}
			got := map[string]plugin.DiffKind{}
			for k, v := range d.Detailed {
				got[k] = v.Kind
				if v.InputDiff {
					t.Errorf("%s: InputDiff = true; upstream reports false", k)
				}
			}
			if !equalKinds(got, tt.detailed) {
				t.Errorf("detailed = %v, want %v", got, tt.detailed)
			}
			diffs, replaces := d.TopLevel()
			if !equalSets(diffs, tt.diffs) || !equalSets(replaces, tt.replaces) {
				t.Errorf("diffs/replaces = %v/%v, want %v/%v", diffs, replaces, tt.diffs, tt.replaces)
			}
		})
	}
}

func TestDiffIgnoreChangesAndOldInputsFromState(t *testing.T) {
	state := props(map[string]any{"create": "a", "stdout": "x", "stderr": ""})
	news := props(map[string]any{"create": "b"})

	// ignoreChanges is applied to top-level names from the state.
	if d := Diff(state, props(map[string]any{"create": "a"}), news, []string{"create"}, true); d.Changes {
		t.Errorf("ignoreChanges [create]: want no changes, got %v", d.Detailed)
	}
	// Nested paths find nothing at the top level (the engine applies them itself before Check).
	if d := Diff(state, props(map[string]any{"create": "a"}), news, []string{"create.x"}, true); !d.Changes {
		t.Errorf("ignoreChanges [create.x]: want a change")
	}
	// Without old inputs from the engine, the inputs are read from the state; stdout is not one.
	d := Diff(state, nil, props(map[string]any{"create": "a"}), nil, false)
	if d.Changes {
		t.Errorf("old inputs from state: want no changes, got %v", d.Detailed)
	}
}

func TestDiffSecretsAndUnknowns(t *testing.T) {
	olds := props(map[string]any{"environment": map[string]any{"K": "v"}})
	// The same value, now secret: a change (the sdk diff compares secretness).
	secretNews := resource.PropertyMap{"environment": resource.NewObjectProperty(resource.PropertyMap{
		"K": resource.MakeSecret(resource.NewStringProperty("v")),
	})}
	if d := Diff(olds, olds, secretNews, nil, true); !d.Changes {
		t.Errorf("value turned secret: want a change")
	}
	// An unknown value during preview is a change.
	unknownNews := resource.PropertyMap{"environment": resource.MakeComputed(resource.NewStringProperty(""))}
	d := Diff(olds, olds, unknownNews, nil, true)
	if !d.Changes || d.Detailed["environment"].Kind != plugin.DiffUpdate {
		t.Errorf("unknown environment: got %v", d.Detailed)
	}
}

func equalKinds(a, b map[string]plugin.DiffKind) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func equalSets(a, b []string) bool {
	a, b = append([]string{}, a...), append([]string{}, b...)
	sort.Strings(a)
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
