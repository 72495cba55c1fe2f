// Command tenantctl migrates the database, provisions tenants, domains and
// users, and serves the HTTP API. See tenantctl --help.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenantctl/tenantctl/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, stop catching them: a second Ctrl-C kills
		// a command that is slow to wind down.
		<-ctx.Done()
		stop()
	}()
	err := cli.Run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tenantctl: %s\n", err)
		os.Exit(cli.ExitCode(err))
	}
}
