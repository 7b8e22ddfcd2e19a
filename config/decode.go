package config

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	mailboxType     = reflect.TypeFor[Mailbox]()
)

// decoder decodes the document one key at a time, so that a value of the
// wrong type is one problem among others rather than the end of decoding,
// and so that every unknown key is found with its full path.
type decoder struct {
	md *toml.MetaData
	r  *report
}

func (d *decoder) value(prim toml.Primitive, p keyPath, rv reflect.Value) {
	t := rv.Type()
	switch {
	case reflect.PointerTo(t).Implements(textUnmarshaler) ||
		t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map:
		if err := d.md.PrimitiveDecode(prim, rv.Addr().Interface()); err != nil {
			d.typeProblem(prim, p, t, err)
		}

	case t.Kind() == reflect.Struct:
		var m map[string]toml.Primitive
		if !d.isTable(prim) || d.md.PrimitiveDecode(prim, &m) != nil {
			d.typeProblem(prim, p, t, nil)
			return
		}
		fields := make(map[string]int, t.NumField())
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
				fields[tag] = i
			}
		}
		for _, k := range d.keys(p, m) {
			i, ok := fields[k]
			if !ok {
				d.unknown(p.key(k), fields)
				continue
			}
			d.value(m[k], p.key(k), rv.Field(i))
		}

	case t.Kind() == reflect.Slice:
		var list []toml.Primitive
		if err := d.md.PrimitiveDecode(prim, &list); err != nil {
			d.typeProblem(prim, p, t, nil)
			return
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, el := range list {
			if t.Elem() == mailboxType {
				s.Index(i).Set(reflect.ValueOf(defaultMailbox()))
			}
			d.value(el, p.index(i), s.Index(i))
		}
		rv.Set(s)

	case t.Kind() == reflect.Map:
		var m map[string]toml.Primitive
		if !d.isTable(prim) || d.md.PrimitiveDecode(prim, &m) != nil {
			d.typeProblem(prim, p, t, nil)
			return
		}
		mv := reflect.MakeMapWithSize(t, len(m))
		for _, k := range d.keys(p, m) {
			ev := reflect.New(t.Elem()).Elem()
			d.value(m[k], p.key(k), ev)
			mv.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		rv.Set(mv)
	}
}

// isTable reports whether prim holds a table. (Decoding anything else into
// a map gives no error in BurntSushi/toml v1.6.0, just an empty map.)
func (d *decoder) isTable(prim toml.Primitive) bool {
	var v any
	if err := d.md.PrimitiveDecode(prim, &v); err != nil {
		return false
	}
	_, ok := v.(map[string]any)
	return ok
}

// keys returns the keys of a table in the order they are written.
func (d *decoder) keys(p keyPath, m map[string]toml.Primitive) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(d.r.lines.line(p.key(a)), d.r.lines.line(p.key(b))), strings.Compare(a, b))
	})
	return keys
}

func (d *decoder) unknown(p keyPath, fields map[string]int) {
	name := p[len(p)-1]
	norm := strings.NewReplacer("_", "", "-", "", `"`, "")
	best, bestDist := "", 3 // suggest only names at most 2 edits away
	for f := range fields {
		dist := editDistance(strings.ToLower(norm.Replace(f)), strings.ToLower(norm.Replace(name)))
		if dist < bestDist || dist == bestDist && f < best {
			best, bestDist = f, dist
		}
	}
	switch {
	case best != "":
		d.r.add(p, "unknown key; did you mean %q?", best)
	case strings.EqualFold(name, "password") || strings.EqualFold(name, "token") ||
		strings.EqualFold(name, "client_secret") || strings.EqualFold(name, "refresh_token"):
		d.r.add(p, "unknown key; secrets are not written in the configuration, use %s_file or %s_env", strings.ToLower(name), strings.ToLower(name))
	default:
		d.r.add(p, "unknown key")
	}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// typeProblem reports a value that could not be decoded into type t; err
// is the decoding error, if it says more than "wrong type".
func (d *decoder) typeProblem(prim toml.Primitive, p keyPath, t reflect.Type, err error) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		d.r.add(p, "%s", pe.Message)
		return
	}
	var v any
	_ = d.md.PrimitiveDecode(prim, &v)
	d.r.add(p, "must be %s, not %s", goKind(t), tomlKind(v))
}

func goKind(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration such as "30s"`
	case reflect.TypeFor[Size]():
		return `a size such as "50MB"`
	case reflect.TypeFor[[]Mailbox]():
		return "an array of tables ([[mailbox]])"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	}
	return "a table"
}

func tomlKind(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}
