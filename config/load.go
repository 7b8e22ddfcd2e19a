package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads the configuration file at path; see Parse. Relative paths in
// the file are taken relative to the folder the file is in. An error
// reading the file itself is returned as it is (errors.Is(err,
// fs.ErrNotExist) works); anything wrong with its content is an *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a configuration from data; name is the file it came from,
// used in problem messages and as the base for relative paths (the folder
// of name; the working directory if name has none). It decodes every key,
// applies the defaults of Default, checks every value and reads the
// secrets. If anything is wrong it returns an *Error listing every problem,
// not just the first.
func Parse(data []byte, name string) (*Config, error) {
	dir := filepath.Dir(name)
	var top toml.Primitive
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&top)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	r := newReport(indexLines(string(data)))
	c := Default()
	d := &decoder{md: &md, r: r}
	d.value(top, nil, reflect.ValueOf(c).Elem())
	c.fillEmpty()
	c.validate(r)
	c.resolvePaths(dir)
	c.readSecrets(r)
	if err := r.err(name); err != nil {
		return nil, err
	}
	return c, nil
}

// syntaxError turns an error of the TOML parser into an *Error.
func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Problems: []Problem{{
			Line: pe.Position.Line,
			Msg:  fmt.Sprintf("syntax error at column %d: %s", pe.Position.Col, pe.Message),
		}}}
	}
	return &Error{File: name, Problems: []Problem{{Msg: "syntax error: " + strings.TrimPrefix(err.Error(), "toml: ")}}}
}
