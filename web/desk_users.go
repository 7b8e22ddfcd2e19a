package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/poraad/loket/workflow"
)

// userView is a desk user as the API shows it: never the password hash.
type userView struct {
	Name    string    `json:"name"`
	Address string    `json:"address"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// putUser adds a desk user or sets their name and password; `loket user
// add` uses it while serve holds the store.
func (a *API) putUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Address  string `json:"address"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	created, err := a.Store.PutUser(req.Name, req.Address, req.Password, time.Now())
	var iue *workflow.InvalidUserError
	if errors.As(err, &iue) {
		writeError(w, http.StatusBadRequest, iue.Error())
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Log != nil {
		a.Log.Info("desk user set", "address", req.Address, "created", created)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	u, err := a.Store.User(req.Address)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, map[string]any{"user": userView{Name: u.Name, Address: u.Address, Created: u.Created, Updated: u.Updated}, "created": created})
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.Store.Users()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]userView, 0, len(users))
	for _, u := range users {
		out = append(out, userView{Name: u.Name, Address: u.Address, Created: u.Created, Updated: u.Updated})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}
