package web

import (
	"net/http"
	"time"
)

// backup streams a consistent copy of the store (one read transaction), so
// that `loket backup` works while serve holds the database's lock.
func (a *API) backup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="loket-`+time.Now().UTC().Format("20060102-150405")+`.db"`)
	if _, err := a.Store.WriteBackup(w); err != nil && a.Log != nil {
		// Headers are gone; the client sees a short body and its check fails.
		a.Log.Error("backup over the API failed", "err", err)
	}
}
