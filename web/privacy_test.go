package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestAPIPrivacyExportAndForget(t *testing.T) {
	srv, st := newTestAPI(t) // two open tickets of a@swv.example

	if status, _ := call(t, srv, "GET", "/api/v1/privacy/export?address=a@swv.example", "", ""); status != http.StatusUnauthorized {
		t.Errorf("export without token: %d", status)
	}
	status, body := call(t, srv, "GET", "/api/v1/privacy/export?address=A@SWV.example", testToken, "")
	var ex struct {
		Address string `json:"address"`
		Tickets []struct {
			Ticket struct {
				Ref string `json:"ref"`
			} `json:"ticket"`
			Messages []json.RawMessage `json:"messages"`
		} `json:"tickets"`
	}
	if err := json.Unmarshal([]byte(body), &ex); status != http.StatusOK || err != nil || ex.Address != "a@swv.example" || len(ex.Tickets) != 2 || len(ex.Tickets[0].Messages) == 0 {
		t.Fatalf("export: %d %v\n%s", status, err, body)
	}

	status, body = call(t, srv, "POST", "/api/v1/privacy/forget", testToken, `{"address":"a@swv.example"}`)
	if status != http.StatusConflict || !strings.Contains(body, "open tickets") {
		t.Errorf("forget of open tickets without force: %d %s", status, body)
	}
	status, body = call(t, srv, "POST", "/api/v1/privacy/forget", testToken, `{"address":"a@swv.example","force":true,"by":"privacy officer"}`)
	if status != http.StatusOK || !strings.Contains(body, `"tickets": 2`) {
		t.Fatalf("forget --force: %d %s", status, body)
	}
	tk, err := st.Ticket(ex.Tickets[0].Ticket.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Requester.Address == "a@swv.example" || tk.Audit[len(tk.Audit)-1].Actor != "privacy officer" {
		t.Errorf("ticket after forget: %+v, last audit %+v", tk.Requester, tk.Audit[len(tk.Audit)-1])
	}
	if status, body := call(t, srv, "GET", "/api/v1/privacy/export?address=a@swv.example", testToken, ""); status != http.StatusOK || !strings.Contains(body, `"tickets": []`) {
		t.Errorf("export after forget: %d %s", status, body)
	}
}
