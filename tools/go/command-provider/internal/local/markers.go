package local

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// How unknowns and secrets flow from inputs to outputs. Upstream leaves local.Command's
// WireDependencies unset, so pulumi-go-provider v1.3.0's defaults apply (infer/resource.go:
// ensureDefaultComputed, ensureDefaultSecrets, markComputed, markSecret):
//
//   - computedness (preview only): every output depends on every input. An output that mirrors the
//     input of the same name with an equal value stays as it is. On create every other output is
//     unknown. On update an output is unknown when some input is unknown or differs from its old value
//     in the state (an input absent from the old state does not count: upstream compares only where
//     the old state has the key).
//   - secretness: an output depends only on the input of the same name, so the echoed inputs keep
//     exactly the secrecy they came with and stdout/stderr are never made secret here. Secret outputs
//     the user asks for come from the engine (additionalSecretOutputs).

// commandInputNames are the names of every input of local.Command, in field order.
var commandInputNames = tagNames(reflect.TypeOf(CommandInputs{}))

// markOutputs applies the default flows to outs in place. olds is the old state (update only; nil on
// create), news the inputs of this step.
func markOutputs(outs, olds, news resource.PropertyMap, isCreate, isPreview bool) {
	for k, v := range outs {
		if isPreview {
			v = markComputed(k, v, olds, news, isCreate)
		}
		outs[k] = markSecret(k, v, news)
	}
}

func markComputed(k resource.PropertyKey, prop resource.PropertyValue, olds, news resource.PropertyMap,
	isCreate bool,
) resource.PropertyValue {
	if isUnknown(prop) {
		return prop
	}
	if in, ok := news[k]; ok && sameValue(in, prop) {
		return prop
	}
	if isCreate {
		return makeUnknown(prop)
	}
	for _, name := range commandInputNames {
		old, hasOld := olds[name]
		if isUnknown(news[name]) || (hasOld && !sameValue(news[name], old)) {
			return makeUnknown(prop)
		}
	}
	return prop
}

func markSecret(k resource.PropertyKey, prop resource.PropertyValue, news resource.PropertyMap) resource.PropertyValue {
	if isSecret(prop) {
		return prop
	}
	in, isInput := news[k]
	if !isInput || !isCommandInput(k) {
		return prop
	}
	if sameValue(in, prop) {
		return prop
	}
	if in.ContainsSecrets() {
		return makeSecret(prop)
	}
	return prop
}

func isCommandInput(k resource.PropertyKey) bool {
	for _, n := range commandInputNames {
		if n == k {
			return true
		}
	}
	return false
}

func isUnknown(v resource.PropertyValue) bool {
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

func isSecret(v resource.PropertyValue) bool {
	return v.IsSecret() || (v.IsOutput() && v.OutputValue().Secret)
}

// makeUnknown marks v unknown, keeping its secrecy (a secret unknown is an output value).
func makeUnknown(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsComputed():
		return v
	case v.IsOutput():
		o := v.OutputValue()
		o.Known = false
		return resource.NewOutputProperty(o)
	case v.IsSecret():
		return resource.NewOutputProperty(resource.Output{Element: v.SecretValue().Element, Secret: true})
	}
	return resource.MakeComputed(v)
}

// makeSecret marks v secret, keeping its unknownness.
func makeSecret(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return v
	case v.IsOutput():
		o := v.OutputValue()
		o.Secret = true
		return resource.NewOutputProperty(o)
	case v.IsComputed():
		return resource.NewOutputProperty(resource.Output{Element: v.Input().Element, Secret: true})
	}
	return resource.MakeSecret(v)
}

// unwrap peels secret, unknown and output wrappers off v and says what it peeled.
func unwrap(v resource.PropertyValue) (inner resource.PropertyValue, known, secret bool) {
	known = true
	for {
		switch {
		case v.IsSecret():
			secret = true
			v = v.SecretValue().Element
		case v.IsComputed():
			known = false
			v = v.Input().Element
		case v.IsOutput():
			o := v.OutputValue()
			known = known && o.Known
			secret = secret || o.Secret
			v = o.Element
		default:
			return v, known, secret
		}
	}
}

// sameValue compares two values deeply, treating the different spellings of "secret" and "unknown"
// (Secret, Computed, output values) as equal when they mean the same; an unknown's placeholder is still
// compared, as upstream does. Dependencies are ignored.
func sameValue(a, b resource.PropertyValue) bool {
	a, aKnown, aSecret := unwrap(a)
	b, bKnown, bSecret := unwrap(b)
	if aKnown != bKnown || aSecret != bSecret {
		return false
	}
	switch {
	case a.IsArray() && b.IsArray():
		x, y := a.ArrayValue(), b.ArrayValue()
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case a.IsObject() && b.IsObject():
		x, y := a.ObjectValue(), b.ObjectValue()
		if len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case a.IsNull() && b.IsNull():
		return true
	case a.IsBool() && b.IsBool():
		return a.BoolValue() == b.BoolValue()
	case a.IsNumber() && b.IsNumber():
		return a.NumberValue() == b.NumberValue()
	case a.IsString() && b.IsString():
		return a.StringValue() == b.StringValue()
	case a.IsResourceReference() && b.IsResourceReference():
		return a.DeepEquals(b)
	case a.IsAsset() && b.IsAsset():
		return a.AssetValue().Equals(b.AssetValue())
	case a.IsArchive() && b.IsArchive():
		return a.ArchiveValue().Equals(b.ArchiveValue())
	}
	return false
}
