// Command ferretdb runs an embedded FerretDB (v1.24.2, SQLite backend): a real
// MongoDB-wire-protocol server that the cpa integration tests use when no
// MongoDB is available. It is a tool for tests, not part of the product.
//
// Usage:
//
//	ferretdb -listen 127.0.0.1:27017 -data /path/to/dir [-log-level warn] [-exit-with-parent]
//
// Once the TCP socket is bound it prints exactly one line to stdout:
//
//	ferretdb listening on 127.0.0.1:PORT
//
// (with the real port when -listen asks for port 0). Logs go to stderr.
// It runs until SIGTERM or SIGINT (or, with -exit-with-parent, until the
// process that started it is gone), then shuts down and exits 0. Any startup
// error (bad flags, port in use, unusable data dir) is printed to stderr and
// the exit code is 1 (2 for bad flags).
//
// The upstream cmd/ferretdb cannot be used: built from the module proxy it
// panics at start because the module zip lacks build/version/version.txt.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("ferretdb", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:27017", "TCP address to listen on (host:port; port 0 picks a free one)")
	data := fs.String("data", "", "directory for the SQLite databases (created if missing; required)")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	exitWithParent := fs.Bool("exit-with-parent", false, "shut down when the parent process exits (no orphans if a test runner is killed)")

	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}

	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "ferretdb: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}

	if *data == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: -data is required")
		return 2
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad -log-level %q: %s\n", *logLevel, err)
		return 2
	}

	dir, err := filepath.Abs(*data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad -data %q: %s\n", *data, err)
		return 1
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: cannot create data directory: %s\n", err)
		return 1
	}

	// file:///abs/dir/ with the path escaped, so that spaces and the like survive
	// FerretDB's url.Parse; the backend requires the trailing slash.
	sqliteURL := (&url.URL{Scheme: "file", Path: strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/"}).String()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if *exitWithParent {
		go watchParent(os.Getppid(), stop)
	}

	// New binds the listening socket; connections queue in the backlog until Run accepts them.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: cannot start: %s\n", err)
		return 1
	}

	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		return 1
	}

	fmt.Fprintf(os.Stdout, "ferretdb listening on %s\n", u.Host)

	if err = f.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		return 1
	}

	return 0
}

// watchParent calls stop once this process has been re-parented, that is when
// the process that started it (pid ppid) has exited, even by SIGKILL.
func watchParent(ppid int, stop func()) {
	for {
		time.Sleep(500 * time.Millisecond)

		if os.Getppid() != ppid {
			fmt.Fprintf(os.Stderr, "ferretdb: parent process %d is gone; shutting down\n", ppid)
			stop()

			return
		}
	}
}
