package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// apiClient talks to the JSON API of a running `loket serve` for the
// commands that read or change its tickets (classify --explain, rules
// suggest). It finds the server and the bearer token in the same config
// file the server was started with.
type apiClient struct {
	base  string // e.g. "http://127.0.0.1:8080", without a trailing slash
	token string
	hc    *http.Client
}

// apiError is an answer of the API other than 2xx: the HTTP status and the
// server's "error" message. Callers branch on Status with errors.As.
type apiError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// newAPIClient reads the config at cfgPath (all of it is checked, as by
// serve) and returns a client for its API. The CLI runs on the server, so
// it talks to [web] listen directly, a wildcard host ("", 0.0.0.0, ::)
// taken as loopback; [web] base_url is used only when listen names no
// usable address, since the public URL usually sits behind a proxy.
func newAPIClient(cfgPath string) (*apiClient, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	base, err := apiBase(cfg.Web.Listen, cfg.Web.BaseURL)
	if err != nil {
		return nil, err
	}
	return &apiClient{base: base, token: cfg.API.Token.Reveal(), hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiBase returns the base URL of the API from [web] listen and base_url.
func apiBase(listen, baseURL string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		if baseURL != "" {
			return strings.TrimRight(baseURL, "/"), nil
		}
		return "", fmt.Errorf("web.listen %q: not host:port and no web.base_url", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// do sends a request to path (e.g. "/api/v1/corrections") with in as its
// JSON body (nil for none) and decodes a 2xx answer into out (nil to
// discard it). Any other status is an *apiError; a server that cannot be
// reached is the transport's error, wrapped.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		e := &apiError{Method: method, Path: path, Status: resp.StatusCode}
		var msg struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &msg) == nil {
			e.Message = msg.Error
		}
		return e
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// isUnreachable reports whether err means the API did not answer at all
// (no server listening, a timeout), as opposed to an answer with an error.
func isUnreachable(err error) bool {
	var ae *apiError
	return err != nil && !errors.As(err, &ae) && !errors.Is(err, context.Canceled)
}
