package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/internal/auth"
)

// authCmd makes the credentials the configuration holds hashes of
// (docs/access.md): it never reads or writes the configuration itself.
func authCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Make API tokens and password hashes for auth.users and ingest.collectors",
		Long: `Vigie's configuration holds hashes, never passwords or tokens (docs/access.md).

  vigie auth token            a new random token, and the line to put in token_hashes
  vigie auth hash-password    reads a password on standard input, prints its argon2id hash

Give the token to its holder (a script, a collector) through a secret store; it is not
shown again and cannot be recovered from its hash.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "token",
		Short: "Print a new random API token and its hash for token_hashes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, hash, err := auth.NewToken()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token (give it to its holder, it is shown once): %s\ntoken_hashes: [%q]\n", tok, hash)
			return nil
		},
	}, &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password on standard input and print its argon2id hash for password_hash",
		Long: `Read one line, the password, on standard input and print its argon2id hash (19 MiB, 2
passes: OWASP's recommendation). In a terminal, keep the password out of the shell's history:

  read -rs PW && printf '%s\n' "$PW" | vigie auth hash-password; unset PW`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("no password on standard input")
			}
			h, err := auth.HashPassword(strings.TrimRight(line, "\r\n"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password_hash: %q\n", h)
			return nil
		},
	})
	return cmd
}
