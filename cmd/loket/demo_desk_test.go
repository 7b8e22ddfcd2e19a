package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDemoDesk: the demo prints a desk login that works, and the desk
// shows the sample tickets.
func TestDemoDesk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole service")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0"}, &out, io.Discard) }()
	defer func() { cancel(); <-done }()

	re := regexp.MustCompile(`Desk \(web\)\s+(http://\S+)/\n\s+log in as\s+(\S+)\n\s+password\s+(\S+)`)
	var m []string
	for m == nil {
		select {
		case err := <-done:
			t.Fatalf("demo ended: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		m = re.FindStringSubmatch(out.String())
	}
	base, addr, pw := m[1], m[2], m[3]
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	if tok == nil {
		t.Fatal("no login form")
	}
	resp, err := hc.PostForm(base+"/login", url.Values{"csrf": {tok[1]}, "adres": {addr}, "wachtwoord": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The sample mail arrives within a few seconds.
	deadline := time.Now().Add(15 * time.Second)
	for {
		page := get("/?status=alle")
		if strings.Contains(page, ">PO-2026-0001</a>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the desk shows no sample tickets after logging in:\n%s", page)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
