package config

import (
	"strconv"
	"strings"
)

// keyPath is the path to a value in the file: table and key names, and
// "[i]" for the elements of arrays and arrays of tables. Its String form is
// the key problems are reported under: "mailbox[1].port".
type keyPath []string

func dotted(s string) keyPath { return keyPath(strings.Split(s, ".")) }

// key returns p extended with a table or key name, quoted if it is not a
// bare TOML key.
func (p keyPath) key(name string) keyPath {
	if !isBareKey(name) {
		name = strconv.Quote(name)
	}
	return append(p[:len(p):len(p)], name)
}

// index returns p extended with an array index.
func (p keyPath) index(i int) keyPath {
	return append(p[:len(p):len(p)], "["+strconv.Itoa(i)+"]")
}

func (p keyPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// lineIndex maps the String of every key path written in a TOML document —
// tables, keys, array elements — to the line where it first appears.
//
// BurntSushi/toml knows these positions but does not export them from its
// MetaData, so indexLines scans the text once more. It is only used on text
// the TOML parser has accepted, and it never fails: on anything it does not
// understand it moves on to the next line.
type lineIndex map[string]int

// line returns the line of p, or of the nearest table around p that is
// written in the file, or 0.
func (ix lineIndex) line(p keyPath) int {
	for ; len(p) > 0; p = p[:len(p)-1] {
		if n, ok := ix[p.String()]; ok {
			return n
		}
	}
	return 0
}

// has reports whether p itself is written in the file.
func (ix lineIndex) has(p keyPath) bool {
	_, ok := ix[p.String()]
	return ok
}

func indexLines(src string) lineIndex {
	s := &lineScanner{
		src:    strings.TrimPrefix(src, "\uFEFF"),
		line:   1,
		ix:     make(lineIndex),
		arrays: make(map[string]int),
	}
	var table keyPath
	for {
		s.skipBlank(true)
		if s.eof() {
			break
		}
		if s.peek() == '[' {
			table = s.header()
		} else {
			s.keyValue(table)
		}
		s.skipLine()
	}
	return s.ix
}

type lineScanner struct {
	src    string
	i      int
	line   int
	ix     lineIndex
	arrays map[string]int // array of tables → number of its [[ ]] headers so far
}

func (s *lineScanner) eof() bool  { return s.i >= len(s.src) }
func (s *lineScanner) peek() byte { return s.src[s.i] }

func (s *lineScanner) advance() {
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

func (s *lineScanner) set(p keyPath, line int) {
	if _, ok := s.ix[p.String()]; !ok {
		s.ix[p.String()] = line
	}
}

// skipBlank skips spaces, tabs and comments, and newlines if newlines is set.
func (s *lineScanner) skipBlank(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n'):
			s.advance()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		default:
			return
		}
	}
}

// skipLine moves past the end of the current line.
func (s *lineScanner) skipLine() {
	for !s.eof() {
		c := s.peek()
		s.advance()
		if c == '\n' {
			return
		}
	}
}

// header reads a [table] or [[array of tables]] header and returns the
// path of the table it opens.
func (s *lineScanner) header() keyPath {
	line := s.line
	s.advance()
	array := !s.eof() && s.peek() == '['
	if array {
		s.advance()
	}
	parts := s.keyParts()
	var p keyPath
	for j, part := range parts {
		p = p.key(part)
		switch n, ok := s.arrays[p.String()]; {
		case array && j == len(parts)-1:
			s.arrays[p.String()] = n + 1
			s.set(p, line)
			p = p.index(n)
		case ok:
			p = p.index(n - 1)
		}
		s.set(p, line)
	}
	return p
}

// keyValue reads key = value in the table at path table.
func (s *lineScanner) keyValue(table keyPath) {
	line := s.line
	parts := s.keyParts()
	if s.eof() || s.peek() != '=' || len(parts) == 0 {
		return
	}
	s.advance()
	p := table
	for _, part := range parts {
		p = p.key(part)
		s.set(p, line)
	}
	s.value(p)
}

// keyParts reads a possibly dotted and quoted key, up to '=' or ']'.
func (s *lineScanner) keyParts() []string {
	var parts []string
	for {
		s.skipBlank(false)
		if s.eof() {
			return parts
		}
		switch c := s.peek(); c {
		case '"', '\'':
			start := s.i
			s.str()
			raw := s.src[start:s.i]
			if c == '"' {
				if u, err := strconv.Unquote(raw); err == nil {
					raw = u
				} else {
					raw = strings.Trim(raw, `"`)
				}
			} else {
				raw = strings.Trim(raw, `'`)
			}
			parts = append(parts, raw)
		default:
			start := s.i
			for !s.eof() && !strings.ContainsRune(" \t\r\n.=]#\"'", rune(s.peek())) {
				s.advance()
			}
			if s.i == start {
				return parts
			}
			parts = append(parts, s.src[start:s.i])
		}
		s.skipBlank(false)
		if s.eof() || s.peek() != '.' {
			return parts
		}
		s.advance()
	}
}

// value reads the value of key p, indexing the elements of arrays and the
// keys of inline tables.
func (s *lineScanner) value(p keyPath) {
	s.skipBlank(false)
	if s.eof() {
		return
	}
	switch s.peek() {
	case '"', '\'':
		s.str()
	case '[':
		s.advance()
		for n := 0; ; {
			s.skipBlank(true)
			if s.eof() {
				return
			}
			switch s.peek() {
			case ']':
				s.advance()
				return
			case ',':
				s.advance()
				continue
			}
			start := s.i
			s.set(p.index(n), s.line)
			s.value(p.index(n))
			n++
			if s.i == start {
				s.advance()
			}
		}
	case '{':
		s.advance()
		for {
			s.skipBlank(true)
			if s.eof() {
				return
			}
			switch s.peek() {
			case '}':
				s.advance()
				return
			case ',':
				s.advance()
				continue
			}
			start := s.i
			s.keyValue(p)
			if s.i == start {
				s.advance()
			}
		}
	default:
		for !s.eof() && !strings.ContainsRune(",]}#\n", rune(s.peek())) {
			s.advance()
		}
	}
}

// str reads a basic or literal string, single- or multi-line.
func (s *lineScanner) str() {
	q := s.peek()
	if strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)) {
		s.i += 3
		for !s.eof() {
			if q == '"' && s.peek() == '\\' {
				s.advance()
				if !s.eof() {
					s.advance()
				}
				continue
			}
			if strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)) {
				s.i += 3
				// Up to two more quotes belong to the content.
				for k := 0; k < 2 && !s.eof() && s.peek() == q; k++ {
					s.i++
				}
				return
			}
			s.advance()
		}
		return
	}
	s.advance()
	for !s.eof() && s.peek() != '\n' {
		c := s.peek()
		s.advance()
		if c == '\\' && q == '"' && !s.eof() {
			s.advance()
			continue
		}
		if c == q {
			return
		}
	}
}
