package mailtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// TokenEndpoint is an OAuth2 token endpoint on 127.0.0.1. It checks that
// every request is a POST whose form is exactly the one it was started
// with, and answers with a new access token each time: "access-token-1",
// "access-token-2", and so on, valid for ExpiresIn seconds. A request with
// another form gets 400 invalid_request and is listed by Problems.
type TokenEndpoint struct {
	srv  *httptest.Server
	want url.Values

	mu        sync.Mutex
	calls     int // requests
	issued    int // tokens handed out
	expiresIn int
	status    int    // non-zero: fail with this status
	body      string // and this body
	problems  []string
}

// StartTokenEndpoint starts a token endpoint that expects the form want,
// for example grant_type=client_credentials, client_id, client_secret and
// scope. Tokens are valid for an hour until SetExpiresIn says otherwise.
func StartTokenEndpoint(want url.Values) *TokenEndpoint {
	e := &TokenEndpoint{want: want, expiresIn: 3600}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	return e
}

// URL returns the endpoint's URL, to use as the token URL.
func (e *TokenEndpoint) URL() string { return e.srv.URL + "/oauth2/v2.0/token" }

// Close stops the endpoint.
func (e *TokenEndpoint) Close() { e.srv.Close() }

// SetExpiresIn sets the lifetime of the tokens handed out from now on.
func (e *TokenEndpoint) SetExpiresIn(seconds int) {
	e.mu.Lock()
	e.expiresIn = seconds
	e.mu.Unlock()
}

// SetFailing makes every request fail with status and the JSON body
// (RFC 6749's {"error": ...}); status 0 ends that.
func (e *TokenEndpoint) SetFailing(status int, body string) {
	e.mu.Lock()
	e.status, e.body = status, body
	e.mu.Unlock()
}

// Calls returns how many requests the endpoint has had.
func (e *TokenEndpoint) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// AccessToken returns the n-th access token an endpoint hands out (from 1;
// refused requests do not count).
func AccessToken(n int) string { return "access-token-" + strconv.Itoa(n) }

// Problems lists the requests whose method or form was not as expected.
func (e *TokenEndpoint) Problems() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.problems)
}

func (e *TokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	w.Header().Set("Content-Type", "application/json")
	if e.status != 0 {
		w.WriteHeader(e.status)
		fmt.Fprint(w, e.body)
		return
	}
	if problem := e.check(r); problem != "" {
		e.problems = append(e.problems, fmt.Sprintf("request %d: %s", e.calls, problem))
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_request"}`)
		return
	}
	e.issued++
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": AccessToken(e.issued),
		"token_type":   "Bearer",
		"expires_in":   e.expiresIn,
	})
}

// check returns what is wrong with r, without the values of secrets.
func (e *TokenEndpoint) check(r *http.Request) string {
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return "content type " + ct
	}
	if _, _, ok := r.BasicAuth(); ok {
		return "credentials in the Authorization header, want them in the form"
	}
	if err := r.ParseForm(); err != nil {
		return "form: " + err.Error()
	}
	var wrong []string
	for _, k := range slices.Sorted(maps.Keys(e.want)) {
		if !slices.Equal(r.PostForm[k], e.want[k]) {
			wrong = append(wrong, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.PostForm)) {
		if _, ok := e.want[k]; !ok {
			wrong = append(wrong, k+" (not expected)")
		}
	}
	if len(wrong) > 0 {
		return "wrong form fields: " + strings.Join(wrong, ", ")
	}
	return ""
}
