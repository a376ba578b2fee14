package local

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func TestCheck(t *testing.T) {
	// Secrets and unknowns pass, and the inputs come back as given.
	news := resource.PropertyMap{
		"create": str("echo hi"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{
			"KUBECONFIG": resource.MakeSecret(str("secret")),
			"LATER":      resource.MakeComputed(str("")),
		}),
		"triggers": resource.NewArrayProperty([]resource.PropertyValue{
			str("v1"), resource.NewArrayProperty([]resource.PropertyValue{str("a")}), resource.NewNumberProperty(3),
		}),
		"stdin":   resource.MakeComputed(str("")),
		"logging": str("stderr"),
	}
	got, failures, err := Check(news)
	if err != nil || len(failures) != 0 {
		t.Fatalf("failures %v, err %v", failures, err)
	}
	if !reflect.DeepEqual(got, news) {
		t.Errorf("Check changed the inputs: %v", got)
	}

	// Misfits are failures with the sdk mapper's wording and upstream's type names.
	_, failures, err = Check(resource.PropertyMap{
		"stdin":    resource.NewNumberProperty(5),
		"bogus":    str("x"),
		"triggers": resource.MakeSecret(resource.NewArrayProperty(nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{
		{"stdin", "Field 'stdin' on 'local.CommandInputs' must be a 'string'; got 'float64' instead"},
		{"bogus", "Unrecognized field 'bogus' on 'local.CommandInputs'"},
	}
	if !reflect.DeepEqual(failures, want) {
		t.Errorf("failures = %#v\nwant %#v", failures, want)
	}
}

func TestCreatePreview(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	inputs := resource.PropertyMap{
		"create":      str("touch " + marker),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"K": resource.MakeSecret(str("s"))}),
		"stdin":       resource.MakeComputed(str("")),
	}
	id, outs, err := Create(context.Background(), "cmd", inputs, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("preview ran the create command")
	}
	if !strings.HasPrefix(id, "cmd") || len(id) != len("cmd")+8 {
		t.Errorf("id = %q, want name + 8 hex digits", id)
	}
	for _, k := range []resource.PropertyKey{"stdout", "stderr"} {
		if !outs[k].IsComputed() {
			t.Errorf("%s = %v, want unknown in preview", k, outs[k])
		}
	}
	for k, v := range inputs {
		if !reflect.DeepEqual(outs[k], v) {
			t.Errorf("input %s not echoed as given: %v", k, outs[k])
		}
	}
	if _, ok := outs["assets"]; ok {
		t.Error("assets must be absent")
	}
}

func TestCreateRuns(t *testing.T) {
	inputs := resource.PropertyMap{
		"create":      str(`printf '%s' "$(cat)"; echo " $CASTLE_CLUSTER"; echo progress >&2`),
		"stdin":       str("kind: Cluster"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"CASTLE_CLUSTER": resource.MakeSecret(str("castle"))}),
		"logging":     str("stderr"),
		"triggers":    resource.NewArrayProperty([]resource.PropertyValue{str("kind: Cluster")}),
	}
	var logged []string
	_, outs, err := Create(context.Background(), "c", inputs, false, func(l string) { logged = append(logged, l) })
	if err != nil {
		t.Fatal(err)
	}
	if got := outs["stdout"]; !reflect.DeepEqual(got, str("kind: Cluster castle")) {
		t.Errorf("stdout = %v (must be plain: secrecy of stdout is the engine's additionalSecretOutputs)", got)
	}
	if got := outs["stderr"]; !reflect.DeepEqual(got, str("progress")) {
		t.Errorf("stderr = %v", got)
	}
	if !reflect.DeepEqual(outs["environment"], inputs["environment"]) {
		t.Errorf("secret input not echoed as secret: %v", outs["environment"])
	}
	if !reflect.DeepEqual(logged, []string{"progress"}) {
		t.Errorf("logged %q", logged)
	}

	// No create command: nothing runs, stdout/stderr are empty strings.
	_, outs, err = Create(context.Background(), "c", resource.PropertyMap{"delete": str("true")}, false, nil)
	if err != nil || outs["stdout"] != str("") || outs["stderr"] != str("") {
		t.Errorf("no create: %v %v", outs, err)
	}

	// A failing create is an error and nothing else.
	id, outs, err := Create(context.Background(), "c", resource.PropertyMap{"create": str("echo nope >&2; exit 1")}, false, nil)
	if err == nil || id != "" || outs != nil {
		t.Fatalf("failing create: id %q outs %v err %v", id, outs, err)
	}
	if want := "exit status 1: running \"echo nope >&2; exit 1\":\nnope\n"; err.Error() != want {
		t.Errorf("error = %q, want %q", err.Error(), want)
	}
}

func stateOf(inputs resource.PropertyMap, stdout, stderr string) resource.PropertyMap {
	s := inputs.Copy()
	s["stdout"] = str(stdout)
	s["stderr"] = str(stderr)
	return s
}

func TestUpdate(t *testing.T) {
	olds := resource.PropertyMap{
		"create":      str("echo created"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"V": str("1")}),
	}
	state := stateOf(olds, "created v1", "")
	// The engine stores stdout as a secret when the program lists it in additionalSecretOutputs.
	state["stdout"] = resource.MakeSecret(state["stdout"])

	// Without `update`, `create` runs again, with the previous stdout in the environment.
	news := resource.PropertyMap{
		"create":      str(`echo "was: $PULUMI_COMMAND_STDOUT; now V=$V"`),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"V": str("2")}),
	}
	outs, err := Update(context.Background(), state, news, nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := outs["stdout"]; !reflect.DeepEqual(got, str("was: created v1; now V=2")) {
		t.Errorf("stdout = %v", got)
	}

	// With `update`, it runs instead of `create`.
	news["update"] = str("echo updated")
	outs, err = Update(context.Background(), state, news, nil, false, nil)
	if err != nil || !reflect.DeepEqual(outs["stdout"], str("updated")) {
		t.Errorf("update command: %v %v", outs["stdout"], err)
	}

	// Neither command: the old outputs stay (unwrapped: upstream re-encodes them from the new inputs).
	outs, err = Update(context.Background(), state, resource.PropertyMap{"delete": str("true")}, nil, false, nil)
	if err != nil || !reflect.DeepEqual(outs["stdout"], str("created v1")) {
		t.Errorf("no command: %v %v", outs["stdout"], err)
	}

	// Preview: nothing runs; stdout/stderr turn unknown because an input changed.
	marker := filepath.Join(t.TempDir(), "ran")
	news["update"] = str("touch " + marker)
	outs, err = Update(context.Background(), state, news, nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("preview ran the update command")
	}
	if !outs["stdout"].IsComputed() || !outs["stderr"].IsComputed() {
		t.Errorf("preview outputs: %v", outs)
	}
	if !reflect.DeepEqual(outs["environment"], news["environment"]) {
		t.Errorf("inputs must stay known: %v", outs["environment"])
	}

	// Preview where only a key absent from the old state was added: upstream compares only keys the
	// old state has, so the old stdout stays known.
	onlyAdded := olds.Copy()
	onlyAdded["update"] = str("echo x")
	outs, err = Update(context.Background(), state, onlyAdded, nil, true, nil)
	if err != nil || outs["stdout"].IsComputed() || !reflect.DeepEqual(outs["stdout"], str("created v1")) {
		t.Errorf("preview, only an added key: %v %v", outs["stdout"], err)
	}

	// A failing update is an error.
	_, err = Update(context.Background(), state, resource.PropertyMap{"update": str("exit 4")}, nil, false, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "exit status 4: running \"exit 4\":") {
		t.Errorf("failing update: %v", err)
	}
}

func TestDelete(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deleted")
	state := stateOf(resource.PropertyMap{
		"create":      str("echo hi"),
		"delete":      str(`printf '%s|%s|%s|%s' "$CASTLE_CLUSTER" "$PULUMI_COMMAND_STDOUT" "$PULUMI_COMMAND_STDERR" "$(cat)" > ` + out),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"CASTLE_CLUSTER": resource.MakeSecret(str("castle"))}),
		"stdin":       str("config"),
	}, "kubeconfig", "progress")
	if err := Delete(context.Background(), state, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if string(got) != "castle|kubeconfig|progress|config" {
		t.Errorf("delete saw %q", got)
	}

	// No delete command: nothing to do.
	if err := Delete(context.Background(), stateOf(resource.PropertyMap{}, "", ""), nil); err != nil {
		t.Error(err)
	}
	// A failing delete is an error.
	err := Delete(context.Background(), stateOf(resource.PropertyMap{"delete": str("exit 9")}, "", ""), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "exit status 9: running \"exit 9\":") {
		t.Errorf("failing delete: %v", err)
	}
	// A state that does not decode is an error with the mapper's text.
	err = Delete(context.Background(), resource.PropertyMap{"bogus": str("x"), "stdout": str(""), "stderr": str("")}, nil)
	if err == nil || !strings.Contains(err.Error(), "Unrecognized field 'bogus' on 'local.CommandOutputs'") {
		t.Errorf("bad state: %v", err)
	}
}

func TestRead(t *testing.T) {
	if err := Read(stateOf(resource.PropertyMap{"create": str("x")}, "o", "")); err != nil {
		t.Error(err)
	}
	// Missing outputs are tolerated (import).
	if err := Read(resource.PropertyMap{}); err != nil {
		t.Error(err)
	}
	if err := Read(resource.PropertyMap{"bogus": str("x")}); err == nil {
		t.Error("want an error for an unrecognized field")
	}
}

func TestRunInvoke(t *testing.T) {
	ret, failures, err := Run(context.Background(), resource.PropertyMap{"command": str("echo hi")}, nil)
	if err != nil || len(failures) != 0 {
		t.Fatal(failures, err)
	}
	if ret["stdout"] != str("hi") || ret["command"] != str("echo hi") {
		t.Errorf("ret = %v", ret)
	}
	_, failures, err = Run(context.Background(), resource.PropertyMap{}, nil)
	if err != nil || len(failures) != 1 || failures[0].Property != "command" {
		t.Errorf("missing command: %v %v", failures, err)
	}
}

func TestAssetsOutputs(t *testing.T) {
	dir := t.TempDir()
	inputs := resource.PropertyMap{
		"create":       str("echo a > a.txt; echo b > b.log"),
		"dir":          str(dir),
		"assetPaths":   resource.NewArrayProperty([]resource.PropertyValue{str("*.txt")}),
		"archivePaths": resource.NewArrayProperty([]resource.PropertyValue{str("**")}),
	}
	_, outs, err := Create(context.Background(), "c", inputs, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	assets := outs["assets"].ObjectValue()
	if len(assets) != 1 || !assets["a.txt"].IsAsset() {
		t.Errorf("assets = %v", assets)
	}
	if !outs["archive"].IsArchive() || len(outs["archive"].ArchiveValue().Assets) != 2 {
		t.Errorf("archive = %v", outs["archive"])
	}
}
