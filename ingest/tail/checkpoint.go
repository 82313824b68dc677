package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Position is where reading of one log file stands. A file is known by its
// identity, not its name: its device and inode (kept across a rename) and
// the hash of its first line (which changes when the file is truncated and
// written again, as copytruncate does).
type Position struct {
	Path        string `json:"path"` // the configured path this file was read for
	Dev         uint64 `json:"dev"`
	Ino         uint64 `json:"ino"`
	Fingerprint string `json:"fingerprint"`
	Offset      int64  `json:"offset"` // of the first byte not yet read
	Line        int64  `json:"line"`   // lines before Offset
}

// checkpoints is the durable set of positions: one JSON file, rewritten
// atomically (temporary file, fsync, rename, fsync of the directory), so
// that a crash leaves the old or the new set, never a torn one.
type checkpoints struct {
	path string
	mu   sync.Mutex
	// by configured path, the positions of the files still being read
	pos map[string][]Position
}

func loadCheckpoints(path string) (*checkpoints, error) {
	c := &checkpoints{path: path, pos: map[string][]Position{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tail checkpoint: %w", err)
	}
	var all []Position
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("tail checkpoint %s is not a list of positions (%v): move it away to read every log from its start", path, err)
	}
	for _, p := range all {
		c.pos[p.Path] = append(c.pos[p.Path], p)
	}
	return c, nil
}

// of returns the positions saved for a configured path.
func (c *checkpoints) of(path string) []Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Position(nil), c.pos[path]...)
}

// save replaces the positions of a configured path and writes the file.
func (c *checkpoints) save(path string, ps []Position) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos[path] = append([]Position(nil), ps...)
	var all []Position
	for _, list := range c.pos {
		all = append(all, list...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Path != all[j].Path {
			return all[i].Path < all[j].Path
		}
		return all[i].Ino < all[j].Ino
	})
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(c.path, b)
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("tail checkpoint dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tail-checkpoint-*")
	if err != nil {
		return fmt.Errorf("tail checkpoint: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("tail checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tail checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tail checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tail checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable
		d.Close()
	}
	return nil
}
