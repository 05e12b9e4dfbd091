// Package journal is an append-only log of records made durable in
// groups: one write and one fdatasync for every record a call appends,
// in files of their own beside a store. A store uses it where a
// transaction of its own engine costs far more than a sequential append
// (store/bolt: a bbolt commit writes its pages wherever its freelist put
// them, then syncs the file twice), for writes whose records can be
// applied to the store later and replayed after a crash: identity's audit
// events.
//
// The protocol between the log and whoever applies its records:
//
//   - Append returns once its records are on disk. Each record gets a
//     sequence number, strictly increasing across the log's life (across
//     restarts too).
//   - The records stay pending, in memory, until Apply hands them to the
//     applier (SetApplier), which writes them into the store in one
//     transaction together with the sequence number of the last one (its
//     marker), and skips records at or below the marker it finds there.
//   - After a crash, Open reads the files back: every record not known to
//     be applied is pending again, and the applier's marker tells which of
//     them the store already holds. Nothing acknowledged is lost and
//     nothing is applied twice.
//
// A segment file holds records one after another, each a 16-byte header
// (payload length, CRC-32C of sequence number and payload, sequence
// number; little-endian) and the payload. A new segment is first filled
// with SegmentSize zero bytes and synced, so that an append overwrites
// blocks the file already has and its fdatasync flushes data only, not
// the file's size (a quarter less time and CPU per append on ext4 here);
// the zeros after the last record are free space, not damage. Segments
// are prepared in advance on a goroutine of their own (the spare, base +
// ".journal.spare", from Open on) and renamed into place, so that an
// Append does not wait for a segment to be filled. A torn or
// corrupt record ends its segment: the records after it were never
// acknowledged (a write that fails moves the log to a new segment).
package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SegmentSize is the size beyond which Append starts a new segment file.
const SegmentSize = 4 << 20

// MaxRecord is the largest payload a record may carry.
const MaxRecord = 1 << 20

const headerSize = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by the methods of a closed Log.
var ErrClosed = errors.New("journal: closed")

// ErrNoApplier is returned by Apply when records are pending and no
// applier was set.
var ErrNoApplier = errors.New("journal: records are pending and no applier is set")

// Record is one appended record.
type Record struct {
	Seq  uint64
	Data []byte
	// At is when it was appended (in this process), or when Open read it.
	At time.Time
}

// Applier writes records into the store (see the package comment) and
// returns once they are durable there.
type Applier func(ctx context.Context, recs []Record) error

type segment struct {
	path  string
	first uint64 // the sequence number in its name
	last  uint64 // the last record's, or first-1 when empty
}

// Log is an open journal. Its methods are safe for concurrent use.
type Log struct {
	base string // segment files are base + ".journal-" + hex first seq

	mu      sync.Mutex
	closed  bool
	next    uint64
	segs    []segment // oldest first; the last is cur's when cur != nil
	cur     *os.File
	curSize int64
	pending []Record
	// buf is the buffer Appends write their records into before the
	// file: one allocation for the largest append so far (up to
	// maxKeptBuffer), not one per append.
	buf      []byte
	dropped  int // corrupt records found by Open
	applyMu  sync.Mutex
	applier  Applier
	applying sync.Mutex // held by a background ApplyAsync
	reported time.Time  // when ApplyAsync last reported an error
	// spare, when not nil, receives the outcome of preparing the next
	// segment (sparePath, filled with zeros and synced) on a goroutine
	// of its own, so that a rotation is a rename rather than 4 MiB
	// written on an Append's path.
	spare chan error
}

// sparePath is the file the next segment is prepared in.
func (l *Log) sparePath() string { return l.base + ".journal.spare" }

// Open reads the segments of the journal beside base (a store's file
// path) and returns the log, its unapplied records pending. A segment
// whose tail is torn is cut there.
func Open(base string) (*Log, error) {
	l := &Log{base: base, next: 1}
	// A spare left by a process that stopped while preparing it may be
	// incomplete.
	if err := os.Remove(l.sparePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal: remove a left-over spare segment: %w", err)
	}
	names, err := filepath.Glob(globEscape(base) + ".journal-*")
	if err != nil {
		return nil, fmt.Errorf("journal: list segments of %s: %w", base, err)
	}
	for _, name := range names {
		hex := strings.TrimPrefix(name, base+".journal-")
		first, err := strconv.ParseUint(hex, 16, 64)
		if err != nil || len(hex) != 16 {
			continue // not one of ours
		}
		l.segs = append(l.segs, segment{path: name, first: first, last: first - 1})
	}
	slices.SortFunc(l.segs, func(a, b segment) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	now := time.Now()
	for i := range l.segs {
		s := &l.segs[i]
		recs, good, damaged, err := readSegment(s.path)
		if err != nil {
			return nil, err
		}
		if damaged {
			l.dropped++
			if err := os.Truncate(s.path, good); err != nil {
				return nil, fmt.Errorf("journal: cut the torn tail of %s: %w", s.path, err)
			}
		}
		for _, r := range recs {
			if r.Seq < l.next {
				return nil, fmt.Errorf("journal: %s: record %d is out of order (after %d)", s.path, r.Seq, l.next-1)
			}
			r.At = now
			l.pending = append(l.pending, r)
			s.last, l.next = r.Seq, r.Seq+1
		}
		l.next = max(l.next, s.first)
	}
	// Appends go to a new segment (Open never appends to an old one):
	// the first one too finds it prepared.
	l.prepareSpare()
	return l, nil
}

// globEscape escapes the glob metacharacters of a path.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readSegment returns the records of a segment up to the first torn or
// corrupt one, the offset where the good records end, and whether
// anything but zero bytes (a preallocated segment's free space) follows
// them.
func readSegment(path string) (recs []Record, good int64, damaged bool, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, false, fmt.Errorf("journal: read %s: %w", path, err)
	}
	defer func() {
		for _, b := range raw[good:] {
			if b != 0 {
				damaged = true
				return
			}
		}
	}()
	off := 0
	for len(raw)-off >= headerSize {
		n := int(binary.LittleEndian.Uint32(raw[off:]))
		sum := binary.LittleEndian.Uint32(raw[off+4:])
		if n > MaxRecord || len(raw)-off-headerSize < n {
			break
		}
		body := raw[off+8 : off+headerSize+n]
		if crc32.Checksum(body, castagnoli) != sum {
			break
		}
		seq := binary.LittleEndian.Uint64(raw[off+8:])
		if seq == 0 {
			break
		}
		recs = append(recs, Record{Seq: seq, Data: slices.Clone(raw[off+headerSize : off+headerSize+n])})
		off += headerSize + n
	}
	return recs, int64(off), false, nil
}

// Dropped is the number of torn or corrupt segment tails Open cut.
func (l *Log) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Advance makes every later record's sequence number greater than seq
// (the applier's marker, in case the segments that held it are gone).
func (l *Log) Advance(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = max(l.next, seq+1)
}

// Append writes recs in one write, syncs the segment, and returns the
// sequence number of the last one. The records are then pending. On an
// error none of them is acknowledged, and the log moves on to a new
// segment.
func (l *Log) Append(recs [][]byte) (uint64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	size := 0
	for _, r := range recs {
		if len(r) > MaxRecord {
			return 0, fmt.Errorf("journal: a record of %d bytes is over %d", len(r), MaxRecord)
		}
		size += headerSize + len(r)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.cur == nil || l.curSize+int64(size) > SegmentSize {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	buf := l.buf[:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
		if size <= maxKeptBuffer {
			l.buf = buf // kept for the next Append (under mu)
		}
	}
	first := l.next
	for i, r := range recs {
		var h [headerSize]byte
		binary.LittleEndian.PutUint32(h[0:], uint32(len(r)))
		binary.LittleEndian.PutUint64(h[8:], first+uint64(i))
		c := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, r)
		binary.LittleEndian.PutUint32(h[4:], c)
		buf = append(buf, h[:]...)
		buf = append(buf, r...)
	}
	if _, err := l.cur.WriteAt(buf, l.curSize); err != nil {
		l.abandon()
		return 0, fmt.Errorf("journal: write: %w", err)
	}
	if err := datasync(l.cur); err != nil {
		l.abandon()
		return 0, fmt.Errorf("journal: sync: %w", err)
	}
	l.curSize += int64(size)
	last := first + uint64(len(recs)) - 1
	l.next = last + 1
	l.segs[len(l.segs)-1].last = last
	now := time.Now()
	for i, r := range recs {
		l.pending = append(l.pending, Record{Seq: first + uint64(i), Data: r, At: now})
	}
	return last, nil
}

// maxKeptBuffer bounds the buffer an Append keeps for the next one: a
// rare large append (an import's) does not pin its size in memory.
const maxKeptBuffer = 256 << 10

// abandon closes the current segment after a failed write: the next
// Append starts a new one, so nothing is ever written after a torn
// record.
func (l *Log) abandon() {
	if l.cur != nil {
		_ = l.cur.Close()
		l.cur = nil
	}
}

// rotate starts a new segment named after the next sequence number and
// makes its name durable: the spare, renamed, when it is ready, or else a
// file filled here. Then it prepares the next spare.
func (l *Log) rotate() error {
	l.abandon()
	path := fmt.Sprintf("%s.journal-%016x", l.base, l.next)
	f, err := l.takeSpare(path)
	if f == nil && err == nil {
		f, err = fill(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY)
	}
	if err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	l.cur, l.curSize = f, 0
	l.segs = append(l.segs, segment{path: path, first: l.next, last: l.next - 1})
	l.prepareSpare()
	return nil
}

// prepareSpare starts preparing the spare unless one is prepared or being
// prepared.
func (l *Log) prepareSpare() {
	if l.spare != nil {
		return
	}
	ch, spare := make(chan error, 1), l.sparePath()
	l.spare = ch
	go func() {
		f, err := fill(spare, os.O_CREATE|os.O_TRUNC|os.O_WRONLY)
		if err == nil {
			err = f.Close()
		}
		ch <- err
	}()
}

// takeSpare renames the prepared spare to path and opens it, when it is
// ready; it returns nil and no error when it is not (still being
// prepared, or its preparation failed).
func (l *Log) takeSpare(path string) (*os.File, error) {
	if l.spare == nil {
		return nil, nil
	}
	select {
	case err := <-l.spare:
		l.spare = nil
		if err != nil {
			_ = os.Remove(l.sparePath())
			return nil, nil
		}
	default:
		return nil, nil
	}
	if err := os.Rename(l.sparePath(), path); err != nil {
		return nil, fmt.Errorf("journal: new segment from the spare: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("journal: open a new segment: %w", err)
	}
	return f, nil
}

// fill creates path with flag, writes SegmentSize zero bytes and syncs
// it.
func fill(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: new segment: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	zeros := make([]byte, 256<<10) // SegmentSize is a multiple
	for range SegmentSize / len(zeros) {
		if _, err := f.Write(zeros); err != nil {
			return fail(fmt.Errorf("journal: preallocate a segment: %w", err))
		}
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("journal: sync a new segment: %w", err))
	}
	return f, nil
}

// syncDir makes the names in dir durable (Windows has no directory sync:
// there, NTFS's own journal keeps them).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	return nil
}

// Pending returns how many records wait to be applied and when the
// oldest of them was appended.
func (l *Log) Pending() (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return 0, time.Time{}
	}
	return len(l.pending), l.pending[0].At
}

// First returns the sequence number of the oldest pending record (zero
// when none is pending).
func (l *Log) First() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return 0
	}
	return l.pending[0].Seq
}

// SetApplier sets the function Apply hands the pending records to, unless
// one is set already (the first one set stays).
func (l *Log) SetApplier(fn Applier) {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	if l.applier == nil {
		l.applier = fn
	}
}

// Apply hands every pending record to the applier and, once it returns
// without error, forgets them and removes the segments that held only
// applied records. Applies run one at a time.
func (l *Log) Apply(ctx context.Context) error {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	l.mu.Lock()
	recs, closed := slices.Clone(l.pending), l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	if l.applier == nil {
		return ErrNoApplier
	}
	if err := l.applier(ctx, recs); err != nil {
		return err
	}
	return l.release(recs[len(recs)-1].Seq)
}

// ReportEvery is how often ApplyAsync reports at most an error that keeps
// recurring.
const ReportEvery = 10 * time.Second

// ApplyAsync starts Apply on a goroutine of its own unless one is
// running, and reports its error to report, at most once per ReportEvery
// (the records stay pending for the next Apply).
func (l *Log) ApplyAsync(report func(error)) {
	if !l.applying.TryLock() {
		return
	}
	go func() {
		defer l.applying.Unlock()
		err := l.Apply(context.Background())
		if err == nil || report == nil {
			return
		}
		l.mu.Lock()
		due := time.Since(l.reported) >= ReportEvery
		if due {
			l.reported = time.Now()
		}
		l.mu.Unlock()
		if due {
			report(err)
		}
	}()
}

// release forgets the records up to seq and removes the segments, other
// than the current one, that hold nothing later.
func (l *Log) release(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.pending) && l.pending[i].Seq <= seq {
		i++
	}
	l.pending = slices.Delete(l.pending, 0, i)
	keep := l.segs[:0]
	var errs []error
	for j, s := range l.segs {
		current := l.cur != nil && j == len(l.segs)-1
		if !current && s.last <= seq {
			if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("journal: remove applied segment: %w", err))
				keep = append(keep, s)
			}
			continue
		}
		keep = append(keep, s)
	}
	l.segs = keep
	return errors.Join(errs...)
}

// Close applies what is pending (when an applier is set; ctx bounds it),
// then closes the log. Once everything is applied it removes every
// segment: a journal left beside a store means unapplied records, or a
// process that stopped without closing it.
func (l *Log) Close(ctx context.Context) error {
	err := l.Apply(ctx)
	l.applying.Lock() // a background apply has finished
	defer l.applying.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	l.abandon()
	if l.spare != nil {
		<-l.spare // its preparation has ended
		l.spare = nil
		if rmErr := os.Remove(l.sparePath()); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			err = errors.Join(err, rmErr)
		}
	}
	if err == nil && len(l.pending) == 0 {
		for _, s := range l.segs {
			if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
				err = errors.Join(err, rmErr)
			}
		}
		l.segs = nil
	}
	if errors.Is(err, ErrNoApplier) {
		err = nil // kept for the next Open to replay
	}
	return err
}

// Segments lists the segment files of the journal beside base: none
// after a clean Close.
func Segments(base string) ([]string, error) {
	names, err := filepath.Glob(globEscape(base) + ".journal-*")
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		hex := strings.TrimPrefix(n, base+".journal-")
		if _, err := strconv.ParseUint(hex, 16, 64); err == nil && len(hex) == 16 {
			out = append(out, n)
		}
	}
	return out, nil
}
