package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// DirMailer writes each message as an .eml file into Dir, for development
// and tests: open the file in a mail client, or read the link out of it.
// Files appear atomically (written to a temporary name, then renamed), so a
// reader polling the directory never sees half a message. Names sort in
// sending order: <UTC time>-<random>.eml.
type DirMailer struct {
	// Dir is the directory; it is created if missing.
	Dir string
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Rand is the source of message ids (default crypto/rand).
	Rand io.Reader
}

// NewDirMailer returns a DirMailer for dir, creating the directory.
func NewDirMailer(dir string) (*DirMailer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail dir: %w", err)
	}
	return &DirMailer{Dir: dir}, nil
}

// Send writes m to a new file in the directory.
func (d *DirMailer) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now
	if d.Clock != nil {
		now = d.Clock
	}
	r := d.Rand
	if r == nil {
		r = rand.Reader
	}
	t := now().UTC()
	raw, err := m.Render(t, r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	var nb [6]byte
	if _, err := io.ReadFull(r, nb[:]); err != nil {
		return fmt.Errorf("mail file name: %w", err)
	}
	name := t.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(nb[:]) + ".eml"
	tmp, err := os.CreateTemp(d.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("mail file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("mail file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.Dir, name)); err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	return nil
}
