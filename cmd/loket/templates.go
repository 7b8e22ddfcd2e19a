package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/poraad/loket/templates"
)

// cmdTemplates: `loket templates check [--config FILE | --dir DIR] [-v]`
// renders every template (embedded, and the overrides in templates_dir)
// with example data and fails on any that does not render.
func cmdTemplates(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{"usage: loket templates check [--config FILE | --dir DIR] [-v]"}
	}
	fs := newFlagSet("templates check", stderr)
	cfgPath := fs.String("config", "", "config file (TOML); its templates_dir overrides the embedded templates")
	dir := fs.String("dir", "", "a folder of template overrides, instead of --config")
	verbose := fs.Bool("v", false, "print every rendered template")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		*dir = cfg.Confirmations.TemplatesDir
	}
	set, err := templates.Load(*dir)
	if err != nil {
		return err
	}
	errs := set.Check()
	for _, e := range errs {
		fmt.Fprintln(stderr, e)
	}
	if *verbose {
		for _, name := range set.Names() {
			if r, err := set.Example(name); err == nil {
				fmt.Fprintf(stdout, "=== %s\nOnderwerp: %s\n\n%s\n", name, r.Subject, r.Body)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(fmt.Sprint(len(errs), " template(s) fail"))
	}
	fmt.Fprintf(stdout, "%d templates ok\n", len(set.Names()))
	return nil
}
