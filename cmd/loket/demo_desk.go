package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/poraad/loket/workflow"
)

// demoUser is the demo's project leader.
const (
	demoUserName    = "Demo Projectleider"
	demoUserAddress = "demo@poraad.nl"
)

// demoDeskLogin creates the demo's desk user with a fresh random password
// and prints where to log in.
func demoDeskLogin(w io.Writer, addr string, st *workflow.Store, log *slog.Logger) {
	pw := demoPassword()
	if _, err := st.PutUser(demoUserName, demoUserAddress, pw, time.Now()); err != nil {
		log.Error("demo: create desk user", "err", err)
		return
	}
	fmt.Fprintf(w, `Desk (web)          http://%s/
  log in as         %s
  password          %s

`, addr, demoUserAddress, pw)
}

// demoPassword returns a random password of 26 letters and digits.
func demoPassword() string { return rand.Text() }
