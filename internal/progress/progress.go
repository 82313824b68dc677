// Package progress shows how a long job advances: one line rewritten in
// place on a terminal, a plain line every few seconds elsewhere (a log
// file, CI). It only displays what its caller measures.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Start shows line() on w until the returned stop is called, which shows it
// a last time. plain forces plain lines even on a terminal; a nil w shows nothing.
func Start(w io.Writer, plain bool, line func() string) (stop func()) {
	if w == nil {
		return func() {}
	}
	tty := !plain && IsTerminal(w)
	every := 5 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	show := func() {
		if tty {
			fmt.Fprintf(w, "\r%-90s", line())
		} else {
			fmt.Fprintln(w, line())
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				show()
			case <-done:
				show()
				if tty {
					fmt.Fprintln(w)
				}
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// IsTerminal reports whether w is a character device, without a terminal module.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
