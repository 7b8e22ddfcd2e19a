package workflow

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUsers(t *testing.T) {
	f := newFixture(t)
	st := f.store
	tests := []struct {
		name, user, addr, pw string
		wantErr              bool
		created              bool
	}{
		{"new", "Lotte", "Lotte@PORAAD.nl", "een-lang-wachtwoord", false, true},
		{"update", "Lotte L", "lotte@poraad.nl", "nog-een-wachtwoord", false, false},
		{"short", "X", "x@poraad.nl", "kort", true, false},
		{"too long", "X", "x@poraad.nl", strings.Repeat("x", 73), true, false},
		{"spaces", "X", "x@poraad.nl", " met-spaties-eromheen ", true, false},
		{"no name", "", "x@poraad.nl", "een-lang-wachtwoord", true, false},
		{"bad address", "X", "Lotte <x@poraad.nl>", "een-lang-wachtwoord", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created, err := st.PutUser(tc.user, tc.addr, tc.pw, f.now)
			var iue *InvalidUserError
			if tc.wantErr != (err != nil) || (err != nil && !errors.As(err, &iue)) {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if created != tc.created {
				t.Errorf("created %v", created)
			}
		})
	}
	u, err := st.Authenticate("LOTTE@poraad.nl", "nog-een-wachtwoord")
	if err != nil || u.Name != "Lotte L" || string(u.PasswordHash) == "nog-een-wachtwoord" {
		t.Fatalf("authenticate: %v %+v", err, u)
	}
	for _, c := range [][2]string{{"lotte@poraad.nl", "een-lang-wachtwoord"}, {"niemand@poraad.nl", "nog-een-wachtwoord"}} {
		if _, err := st.Authenticate(c[0], c[1]); !errors.Is(err, ErrBadLogin) {
			t.Errorf("authenticate %v: %v", c, err)
		}
	}

	id, sess, err := st.CreateLoginSession("lotte@poraad.nl", time.Hour, f.now)
	if err != nil || len(id) != 64 || len(sess.CSRF) != 64 {
		t.Fatalf("session: %v %q", err, id)
	}
	if _, u, err := st.LoginSessionUser(id, f.now.Add(time.Minute)); err != nil || u.Address != "lotte@poraad.nl" {
		t.Fatalf("session user: %v", err)
	}
	if !sess.CheckCSRF(sess.CSRF) || sess.CheckCSRF("") || sess.CheckCSRF(strings.Repeat("0", 64)) {
		t.Error("CheckCSRF")
	}
	if _, _, err := st.LoginSessionUser(id, f.now.Add(time.Hour)); !IsNotFound(err) {
		t.Errorf("expired session: %v", err)
	}
	if _, _, err := st.CreateLoginSession("niemand@poraad.nl", time.Hour, f.now); !IsNotFound(err) {
		t.Errorf("session for unknown user: %v", err)
	}
	// A new password ends the sessions; so does removing the user.
	id, _, _ = st.CreateLoginSession("lotte@poraad.nl", time.Hour, f.now)
	if _, err := st.PutUser("Lotte", "lotte@poraad.nl", "derde-wachtwoord", f.now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.LoginSessionUser(id, f.now); !IsNotFound(err) {
		t.Errorf("session after password change: %v", err)
	}
	id, _, _ = st.CreateLoginSession("lotte@poraad.nl", time.Hour, f.now)
	if err := st.DeleteLoginSession(id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.LoginSessionUser(id, f.now); !IsNotFound(err) {
		t.Errorf("session after logout: %v", err)
	}
	id, _, _ = st.CreateLoginSession("lotte@poraad.nl", time.Hour, f.now)
	if err := st.DeleteUser("lotte@poraad.nl"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.LoginSessionUser(id, f.now); !IsNotFound(err) {
		t.Errorf("session after removal: %v", err)
	}
	if users, _ := st.Users(); len(users) != 0 {
		t.Errorf("users left: %v", users)
	}
}
