// Command loket runs the support desk's mail intake: see README.md.
//
//	loket serve --config loket.toml      run the service
//	loket check-config --config F        report every problem in a config file
//	loket classify [--mailbox NAME] [--json | --explain] FILE.eml...
//	loket rules suggest --config F       terms learnt from type corrections
//	loket demo                           everything in-process, with sample mail
//	loket version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		if !errors.As(err, &ue) || ue.msg != "" {
			fmt.Fprintln(os.Stderr, "loket:", err)
		}
		os.Exit(exitCode(err))
	}
}

// fullVersion is the version set at build time (deploy/build.sh), else
// the VCS revision Go recorded in the binary.
func fullVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return version + " (" + info.GoVersion + ")"
	}
	return "dev-" + rev + modified + " (" + info.GoVersion + ")"
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

const usage = `loket: e-mail intake for the Passend onderwijs support desk

Usage:
  loket serve --config FILE            run the service
  loket check-config --config FILE     check a config file, report every problem
  loket classify [--config FILE] [--mailbox NAME] [--json | --explain] FILE.eml...
                                       classify messages offline; --explain shows why
  loket rules suggest --config FILE [--min N]
                                       terms from type corrections, as TOML for the config
  loket ticket ACTION REF ... --config FILE
                                       show, assign, reply, note, propose, schedule, place,
                                       transition or type a ticket through the API (loket ticket help)
  loket templates check [--config FILE | --dir DIR]
                                       render every mail template with example data
  loket user add --config FILE --name NAME --address ADDRESS
                                       add a desk user (password from stdin or asked)
  loket user list --config FILE        list the desk's users
  loket demo [--listen ADDR]           run with in-process IMAP and SMTP servers and sample mail
  loket backup --config FILE OUT.db     consistent copy of the store, also while serve runs
  loket restore --config FILE IN.db     check a backup and put it in place (serve stopped)
  loket import --config FILE --mailbox NAME
                                       a mailbox's first start (initial_sync) offline, with progress
  loket export --config FILE --address A
                                       everything held about an address, as JSON (AVG)
  loket forget --config FILE --address A [--force]
                                       erase an address; open tickets only with --force
  loket version                        print the version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "classify":
		return cmdClassify(ctx, rest, stdout, stderr)
	case "rules":
		return cmdRules(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, stdout, stderr)
	case "ticket":
		return cmdTicket(ctx, rest, stdout, stderr)
	case "templates":
		return cmdTemplates(ctx, rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, stdout, stderr) // import.go
	case "restore":
		return cmdRestore(rest, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, stdout, stderr) // privacy.go
	case "forget":
		return cmdForget(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "loket", fullVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("loket "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{}
		}
		return usageError{err.Error()}
	}
	return nil
}
