package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	ucli "github.com/urfave/cli/v3"
	"golang.org/x/term"
)

// Terminal is an interactive terminal on stdin, where tenantctl may prompt.
type Terminal interface {
	// ReadPassword reads one line without echoing it. It returns ctx's
	// error if ctx ends first.
	ReadPassword(ctx context.Context) (string, error)
}

// fdTerminal is the real terminal on a file descriptor.
type fdTerminal struct {
	fd     int
	prompt io.Writer
}

// ReadPassword reads a line with echo off. When ctx ends first (Ctrl-C), it
// restores the terminal itself, since the abandoned read never returns to
// do so and the shell would be left without echo.
func (t fdTerminal) ReadPassword(ctx context.Context) (string, error) {
	state, err := term.GetState(t.fd)
	if err != nil {
		return "", err
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(t.fd)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		// The Enter that ended the line was not echoed either.
		fmt.Fprintln(t.prompt)
		return string(r.b), r.err
	case <-ctx.Done():
		_ = term.Restore(t.fd, state)
		fmt.Fprintln(t.prompt)
		return "", ctx.Err()
	}
}

// passwordFlags are the two ways to give a password on the command line:
// --<name> P, and --<name>-stdin to read it from stdin, which keeps it out
// of the process list and the shell history.
func passwordFlags(name, whose string) []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: name, Usage: "the " + whose + " password (visible to other users of this machine; prefer --" + name + "-stdin)"},
		&ucli.BoolFlag{Name: name + "-stdin", Usage: "read the " + whose + " password from the first line of stdin"},
	}
}

// checkPasswordFlags rejects both password flags at once. Commands call it
// before connecting, as they do for other usage errors.
func checkPasswordFlags(cmd *ucli.Command, name string) error {
	if cmd.IsSet(name) && cmd.Bool(name+"-stdin") {
		return usageErrorf("--%s and --%s-stdin cannot be used together", name, name)
	}
	return nil
}

// password returns the password given by the flags passwordFlags(name)
// made, or asks for it twice on the terminal when neither was given.
func (inv *invocation) password(ctx context.Context, cmd *ucli.Command, name, whose string) (string, error) {
	if err := checkPasswordFlags(cmd, name); err != nil {
		return "", err
	}
	fromFlag, fromStdin := cmd.IsSet(name), cmd.Bool(name+"-stdin")
	switch {
	case fromFlag:
		return cmd.String(name), nil
	case fromStdin:
		p, err := inv.readLine(ctx)
		if err != nil {
			return "", fmt.Errorf("--%s-stdin: %w", name, err)
		}
		return p, nil
	case inv.opts.Terminal == nil:
		return "", fmt.Errorf("no password given for %s, and stdin is not a terminal to ask on; use --%s-stdin", whose, name)
	}
	fmt.Fprintf(inv.errOut(), "Password for %s: ", whose)
	p, err := inv.opts.Terminal.ReadPassword(ctx)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(inv.errOut(), "Password for %s (again): ", whose)
	again, err := inv.opts.Terminal.ReadPassword(ctx)
	if err != nil {
		return "", err
	}
	if p != again {
		return "", errors.New("the passwords do not match")
	}
	return p, nil
}
