package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/poraad/loket/workflow"
)

// The rights of data subjects under the AVG (GDPR), for `loket export` and
// `loket forget` while serve holds the store (workflow/retention.go).
func (a *API) privacyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/privacy/export", a.auth(a.privacyExport))
	mux.Handle("POST /api/v1/privacy/forget", a.auth(a.privacyForget))
}

// privacyExport answers everything held about ?address=.
func (a *API) privacyExport(w http.ResponseWriter, r *http.Request) {
	addr := strings.TrimSpace(r.URL.Query().Get("address"))
	if addr == "" {
		writeError(w, http.StatusBadRequest, "address is required")
		return
	}
	ex, err := a.Store.ExportAddress(addr, time.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

// ForgetRequest is the body of POST /api/v1/privacy/forget.
type ForgetRequest struct {
	Address string `json:"address"`
	Force   bool   `json:"force,omitempty"` // also when tickets are open
	By      string `json:"by,omitempty"`    // who asked, for the audit log
}

func (a *API) privacyForget(w http.ResponseWriter, r *http.Request) {
	var req ForgetRequest
	if !readJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Address) == "" {
		writeError(w, http.StatusBadRequest, "address is required")
		return
	}
	by := strings.TrimSpace(req.By)
	if by == "" {
		by = "api"
	}
	res, err := a.Store.ForgetAddress(req.Address, req.Force, by, time.Now())
	if errors.Is(err, workflow.ErrOpenTickets) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Log != nil {
		a.Log.Info("personal data erased", "tickets", res.Tickets, "messages", res.Messages, "by", by)
	}
	writeJSON(w, http.StatusOK, res)
}
