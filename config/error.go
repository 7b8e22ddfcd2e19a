package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error lists everything wrong with a configuration file. Load and Parse
// return it (as error) whenever the file cannot be used.
type Error struct {
	File     string    // the file name given to Load or Parse
	Problems []Problem // in the order of the file; problems without a line last
}

// Problem is one thing wrong with a configuration file.
type Problem struct {
	Key  string // dotted key, such as "smtp.port" or "mailbox[1].tls"; empty for a syntax error
	Line int    // line in the file, counted from 1; 0 when the key is not in the file
	Msg  string
}

// Error returns one problem per line, as FILE:LINE: KEY: message, or
// FILE: KEY: message for a problem without a line.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
		if p.Key != "" {
			b.WriteString(p.Key)
			b.WriteString(": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// report collects the problems of one file, at most one per key.
type report struct {
	lines lineIndex
	list  []Problem
	seen  map[string]bool
}

func newReport(lines lineIndex) *report {
	return &report{lines: lines, seen: make(map[string]bool)}
}

// add records a problem with key p at the line where p, or the nearest
// table around it, is written. A second problem for the same key, or for a
// key inside a table that already has one, is dropped: the first one is
// what the operator has to fix.
func (r *report) add(p keyPath, format string, args ...any) {
	for i := 1; i <= len(p); i++ {
		if r.seen[p[:i].String()] {
			return
		}
	}
	key := p.String()
	r.seen[key] = true
	r.list = append(r.list, Problem{Key: key, Line: r.lines.line(p), Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems as an *Error in file order, or nil if there are
// none.
func (r *report) err(file string) error {
	if len(r.list) == 0 {
		return nil
	}
	list := slices.Clone(r.list)
	slices.SortStableFunc(list, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return &Error{File: file, Problems: list}
}
