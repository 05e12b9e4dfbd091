package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func open(t *testing.T, base string) *Log {
	t.Helper()
	l, err := Open(base)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Close waits for the spare being prepared, before the directory
	// goes (a second Close is harmless).
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

func appendAll(t *testing.T, l *Log, recs ...string) uint64 {
	t.Helper()
	raw := make([][]byte, len(recs))
	for i, r := range recs {
		raw[i] = []byte(r)
	}
	last, err := l.Append(raw)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return last
}

// collect is an applier that records what it is handed.
type collect struct {
	got  []Record
	fail error
}

func (c *collect) apply(_ context.Context, recs []Record) error {
	if c.fail != nil {
		return c.fail
	}
	c.got = append(c.got, recs...)
	return nil
}

func datas(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Data)
	}
	return out
}

// A process that stops without applying leaves its records to the next
// Open, in order, with their sequence numbers; numbering goes on after
// them.
func TestReopenReplaysPending(t *testing.T) {
	base := filepath.Join(t.TempDir(), "store.db")
	l := open(t, base)
	if last := appendAll(t, l, "a", "b"); last != 2 {
		t.Fatalf("last = %d, want 2", last)
	}
	if last := appendAll(t, l, "c"); last != 3 {
		t.Fatalf("last = %d, want 3", last)
	}
	// No applier and no Close: the process "crashed".
	l2 := open(t, base)
	c := &collect{}
	l2.SetApplier(c.apply)
	if err := l2.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := datas(c.got); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("replayed %q", got)
	}
	for i, r := range c.got {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
	if last := appendAll(t, l2, "d"); last != 4 {
		t.Fatalf("after reopen last = %d, want 4", last)
	}
}

// A torn record (a crash in the middle of a write, never acknowledged) and
// a corrupt one end their segment: the good records before them are kept,
// the file is cut there, and appends go on.
func TestTornAndCorruptTails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(raw []byte) []byte
		want   []string
	}{
		{"torn header", func(raw []byte) []byte {
			i := bytes.Index(raw, []byte("second")) + len("second")
			copy(raw[i:], []byte{1, 2, 3}) // a third record's first bytes
			return raw
		}, []string{"first", "second"}},
		{"torn payload", func(raw []byte) []byte {
			i := bytes.Index(raw, []byte("second"))
			copy(raw[i+4:], []byte{0, 0}) // its last bytes never reached the disk
			return raw
		}, []string{"first"}},
		{"flipped byte", func(raw []byte) []byte {
			i := bytes.Index(raw, []byte("second"))
			raw[i] ^= 0x20
			return raw
		}, []string{"first"}},
		{"nonzero free space", func(raw []byte) []byte {
			i := bytes.LastIndex(raw, []byte("second")) + len("second")
			raw[i+100] = 7
			return raw
		}, []string{"first", "second"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "store.db")
			l := open(t, base)
			appendAll(t, l, "first")
			appendAll(t, l, "second")
			segs, err := Segments(base)
			if err != nil || len(segs) != 1 {
				t.Fatalf("Segments = %v, %v", segs, err)
			}
			raw, err := os.ReadFile(segs[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(segs[0], tc.damage(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			l2 := open(t, base)
			if l2.Dropped() != 1 {
				t.Fatalf("Dropped = %d, want 1", l2.Dropped())
			}
			if n, _ := l2.Pending(); n != len(tc.want) {
				t.Fatalf("pending = %d, want %d", n, len(tc.want))
			}
			appendAll(t, l2, "third")
			l3 := open(t, base)
			if l3.Dropped() != 0 {
				t.Fatalf("the cut segment is still damaged: Dropped = %d", l3.Dropped())
			}
			c3 := &collect{}
			l3.SetApplier(c3.apply)
			if err := l3.Apply(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := datas(c3.got); !slices.Equal(got, append(slices.Clone(tc.want), "third")) {
				t.Fatalf("after the cut and an append: %q", got)
			}
		})
	}
}

// A segment's free space (its preallocated zeros) is not damage: a
// reopen drops nothing and keeps every record.
func TestFreeSpaceIsNotDamage(t *testing.T) {
	base := filepath.Join(t.TempDir(), "store.db")
	l := open(t, base)
	appendAll(t, l, "a", "b")
	segs, _ := Segments(base)
	if fi, err := os.Stat(segs[0]); err != nil || fi.Size() != SegmentSize {
		t.Fatalf("segment size = %v, %v; want the preallocated %d", fi, err, SegmentSize)
	}
	l2 := open(t, base)
	if n, _ := l2.Pending(); l2.Dropped() != 0 || n != 2 {
		t.Fatalf("after reopen: dropped %d, pending %d; want 0 and 2", l2.Dropped(), n)
	}
}

// A failed apply keeps every record pending for the next one; a
// successful one forgets them and removes the segments that held only
// applied records.
func TestApplyReleases(t *testing.T) {
	base := filepath.Join(t.TempDir(), "store.db")
	l := open(t, base)
	c := &collect{fail: errors.New("store down")}
	l.SetApplier(c.apply)
	big := string(bytes.Repeat([]byte("x"), MaxRecord/2))
	for range 10 { // 5 MiB: more than one segment
		appendAll(t, l, big)
	}
	segs, _ := Segments(base)
	if len(segs) < 2 {
		t.Fatalf("%d segments, want a rotation", len(segs))
	}
	if err := l.Apply(context.Background()); err == nil {
		t.Fatal("Apply reported no error from a failing applier")
	}
	if n, _ := l.Pending(); n != 10 {
		t.Fatalf("pending after a failed apply = %d, want 10", n)
	}
	c.fail = nil
	if err := l.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Pending(); n != 0 || len(c.got) != 10 {
		t.Fatalf("pending %d, applied %d", n, len(c.got))
	}
	left, _ := Segments(base)
	if len(left) != 1 {
		t.Fatalf("segments after the apply: %v, want only the current one", left)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left, _ := Segments(base); len(left) != 0 {
		t.Fatalf("segments after Close: %v", left)
	}
	if _, err := l.Append([][]byte{[]byte("late")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
}

// After a clean Close nothing is left to number from: Advance (the
// applier's marker) keeps the numbers increasing.
func TestAdvanceAfterCleanClose(t *testing.T) {
	base := filepath.Join(t.TempDir(), "store.db")
	l := open(t, base)
	c := &collect{}
	l.SetApplier(c.apply)
	appendAll(t, l, "a", "b", "c")
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l2 := open(t, base)
	l2.Advance(3)
	if last := appendAll(t, l2, "d"); last != 4 {
		t.Fatalf("last = %d, want 4", last)
	}
}

// Close without an applier keeps the records for the next Open.
func TestCloseWithoutApplierKeeps(t *testing.T) {
	base := filepath.Join(t.TempDir(), "store.db")
	l := open(t, base)
	appendAll(t, l, "a")
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l2 := open(t, base)
	if n, _ := l2.Pending(); n != 1 {
		t.Fatalf("pending after reopen = %d, want 1", n)
	}
}

// Names that only look like segments, and paths with glob characters,
// are handled.
func TestSegmentNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a[b]*")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "store.db")
	if err := os.WriteFile(base+".journal-notanumber", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := open(t, base)
	appendAll(t, l, "a")
	segs, err := Segments(base)
	if err != nil || len(segs) != 1 || segs[0] != fmt.Sprintf("%s.journal-%016x", base, 1) {
		t.Fatalf("Segments = %v, %v", segs, err)
	}
}

// BenchmarkAppend is one group of n records appended and synced: the
// durable part of a group of audit events.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "store.db"))
			if err != nil {
				b.Fatal(err)
			}
			recs := make([][]byte, n)
			for i := range recs {
				recs[i] = bytes.Repeat([]byte("e"), 400)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Append(recs); err != nil {
					b.Fatal(err)
				}
				l.pending = l.pending[:0]
			}
		})
	}
}

// A background apply that keeps failing reports once per ReportEvery, not
// once per attempt, and keeps the records.
func TestApplyAsyncReportsSparingly(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "store.db"))
	c := &collect{fail: errors.New("disk full")}
	l.SetApplier(c.apply)
	appendAll(t, l, "a")
	reports := make(chan error, 10)
	for range 5 {
		l.ApplyAsync(func(err error) { reports <- err })
		l.applying.Lock() // wait for that apply to end
		l.applying.Unlock()
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports of one recurring error, want 1", len(reports))
	}
	if n, _ := l.Pending(); n != 1 {
		t.Fatalf("pending = %d, want 1", n)
	}
}

// Segments are prepared as the spare, on a goroutine of their own while
// the log is in use: a rotation renames it instead of writing
// SegmentSize bytes on an Append's path. Close removes a spare that was
// not used, and Open one that a killed process left.
func TestSpareSegment(t *testing.T) {
	base := filepath.Join(t.TempDir(), "s.db")
	l := open(t, base)
	appendAll(t, l, "first")
	l.mu.Lock()
	ch := l.spare
	l.mu.Unlock()
	if ch == nil {
		t.Fatal("no spare is being prepared after the first rotation")
	}
	err := <-ch
	ch <- err // for the next rotation
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(l.sparePath()); err != nil || fi.Size() != SegmentSize {
		t.Fatalf("spare: %v, %v", fi, err)
	}
	big := make([]byte, MaxRecord)
	for range 4 { // over SegmentSize: the second segment is the spare
		if _, err := l.Append([][]byte{big}); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := Segments(base)
	if err != nil || len(segs) != 2 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	if fi, err := os.Stat(segs[1]); err != nil || fi.Size() != SegmentSize {
		t.Fatalf("the second segment: %v, %v", fi, err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.sparePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a spare is left after Close: %v", err)
	}
	r := open(t, base) // no applier was set: the records are pending again
	if n, _ := r.Pending(); n != 5 {
		t.Fatalf("%d records pending after reopening, want 5", n)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".journal.spare", []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Open replaces a spare a stopped process left half written: once
	// the new one is prepared (Open starts at once, so the file may
	// already exist again when Open returns), it is whole and zeroed.
	r = open(t, base)
	defer r.Close(context.Background())
	r.mu.Lock()
	ch = r.spare
	r.mu.Unlock()
	if ch == nil {
		t.Fatal("Open prepares no spare")
	}
	err = <-ch
	ch <- err
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(base + ".journal.spare")
	if err != nil || len(got) != SegmentSize || bytes.HasPrefix(got, []byte("half written")) {
		t.Fatalf("Open kept the left-over spare: %d bytes starting %q, %v", len(got), got[:min(len(got), 12)], err)
	}
}
