package local

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/mapper"
)

// Failure is one input that does not fit the resource's shape: upstream turns the sdk mapper's field
// errors into check failures (pulumi-go-provider v1.3.0 infer/resource.go, checkFailureFromMapError).
type Failure struct {
	Property string
	Reason   string
}

// decode checks m against the Go shape of T with the sdk's mapper, as upstream does
// (pulumi-go-provider v1.3.0 infer/internal/ende Decode): secrets are unwrapped and unknowns stand in
// as the zero value of the type expected where they are, so only the shape of known values is judged.
func decode[T any](m resource.PropertyMap, tolerateMissing bool) (T, mapper.MappingError) {
	var dst T
	fields := fieldTypes(reflect.TypeOf(dst))
	plainMap := resource.PropertyMap{}
	for k, v := range m {
		plainMap[k] = plain(v, fields[string(k)])
	}
	return dst, mapper.New(&mapper.Opts{IgnoreMissing: tolerateMissing}).Decode(plainMap.Mappable(), &dst)
}

// asFailures turns the mapper's field errors into check failures (pulumi-go-provider v1.3.0
// infer/resource.go checkFailureFromMapError); any other mapping error comes back as err.
func asFailures(merr mapper.MappingError) ([]Failure, error) {
	if merr == nil {
		return nil, nil
	}
	failures := []Failure{}
	for _, e := range merr.Failures() {
		fe, ok := e.(mapper.FieldError)
		if !ok {
			return failures, fmt.Errorf("unknown mapper error: %w", e)
		}
		failures = append(failures, Failure{Property: fe.Field(), Reason: fe.Reason()})
	}
	return failures, nil
}

// decodeStrict decodes m into T; a misfit is an error with the mapper's own text
// ("N failures decoding:\n\tfield: reason"), which is what upstream returns from Create/Update/Delete.
func decodeStrict[T any](m resource.PropertyMap) (T, error) {
	v, merr := decode[T](m, false)
	if merr != nil {
		return v, merr
	}
	return v, nil
}

// fieldTypes maps each `pulumi:"name"` of a struct (embedded structs flattened) to its Go type.
func fieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("pulumi")
		if tag == "" || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		out[name] = f.Type
	}
	return out
}

// tagNames lists the property names of a struct in field order (embedded structs flattened).
func tagNames(t reflect.Type) []resource.PropertyKey {
	var out []resource.PropertyKey
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("pulumi")
		if tag == "" || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		out = append(out, resource.PropertyKey(name))
	}
	return out
}

// plain strips secretness and unknownness from v. An unknown becomes the zero value of the Go type t
// expected at its place (nil t: its placeholder element), mirroring what ende's simplify hands the mapper.
func plain(v resource.PropertyValue, t reflect.Type) resource.PropertyValue {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element, t)
	case v.IsComputed():
		return zeroFor(t, v.Input().Element)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return zeroFor(t, o.Element)
		}
		return plain(o.Element, t)
	case v.IsArray():
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			out[i] = plain(e, et)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		var et reflect.Type
		if t != nil && t.Kind() == reflect.Map {
			et = t.Elem()
		}
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = plain(e, et)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

func zeroFor(t reflect.Type, placeholder resource.PropertyValue) resource.PropertyValue {
	if t == nil {
		return plain(placeholder, nil)
	}
	switch t.Kind() {
	case reflect.String:
		return resource.NewStringProperty("")
	case reflect.Bool:
		return resource.NewBoolProperty(false)
	case reflect.Int, reflect.Int64, reflect.Float32, reflect.Float64:
		return resource.NewNumberProperty(0)
	case reflect.Slice, reflect.Array:
		return resource.NewArrayProperty([]resource.PropertyValue{})
	case reflect.Map:
		return resource.NewObjectProperty(resource.PropertyMap{})
	}
	return plain(placeholder, nil)
}

// plainMap applies plain to every value of m (no type guidance: unknowns keep their placeholder).
func plainMap(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = plain(v, nil)
	}
	return out
}
