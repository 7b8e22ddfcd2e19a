package config_test

import (
	"fmt"

	"github.com/poraad/loket/config"
)

// Parse reports every problem in the file at once, each with its line.
func ExampleParse() {
	_, err := config.Parse([]byte(`[storage]
path = "loket.db"

[tickets]
prefix = "po"

[smtp]
host = "smtp.example.org"
port = 587
tls = "ssl"
`), "loket.toml")
	fmt.Println(err)
	// Output:
	// loket.toml:5: tickets.prefix: must be 1 to 10 upper-case letters (A-Z), not "po"
	// loket.toml:10: smtp.tls: must be one of "tls", "starttls", "none", not "ssl"
	// loket.toml: web.listen: is required
	// loket.toml: mailbox: at least one [[mailbox]] is required
	// loket.toml: api.token_file: is required (or token_env)
}
