package profile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/blob"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

// faultyBlobs wraps a blob.Store (not a TxStore, so the journaled path is
// taken) with injectable failures and a hook run after each Put.
type faultyBlobs struct {
	blob.Store
	mu        sync.Mutex
	failPut   error
	failDel   error
	afterPut  func()
	gets      int
	maxRead   int
	readsSeen int
}

func (f *faultyBlobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	f.mu.Lock()
	fail, after := f.failPut, f.afterPut
	f.mu.Unlock()
	if fail != nil {
		// A failing backend may leave a partial object behind.
		_ = f.Store.Put(ctx, key, io.LimitReader(r, 1), 1)
		return fail
	}
	if err := f.Store.Put(ctx, key, r, size); err != nil {
		return err
	}
	if after != nil {
		after()
	}
	return nil
}

func (f *faultyBlobs) Delete(ctx context.Context, key string) error {
	f.mu.Lock()
	fail := f.failDel
	f.mu.Unlock()
	if fail != nil {
		return fail
	}
	return f.Store.Delete(ctx, key)
}

func (f *faultyBlobs) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	rc, n, err := f.Store.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	f.gets++
	f.mu.Unlock()
	return &spyReader{ReadCloser: rc, f: f}, n, nil
}

// spyReader records the largest single read, to show downloads are copied
// in bounded pieces rather than read whole.
type spyReader struct {
	io.ReadCloser
	f *faultyBlobs
}

func (s *spyReader) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	s.f.mu.Lock()
	s.f.maxRead = max(s.f.maxRead, n)
	s.f.readsSeen++
	s.f.mu.Unlock()
	return n, err
}

func (f *faultyBlobs) set(fn func(f *faultyBlobs)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

// files lists the blob files under dir (temporary files included).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func gcCount(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	_ = e.id.View(context.Background(), func(tx *identity.ReadTxn) error {
		return gcRecs(identity.Production).Scan(tx.KV(kv.Inside()), func(string, blobGC) error { n++; return nil })
	})
	return n
}

func newDirEnv(t *testing.T) (*env, *faultyBlobs, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	fb := &faultyBlobs{Store: d}
	e := newEnvWith(t, memory.New(), func(o *Options) { o.Blobs = fb })
	e.tenant("acme")
	return e, fb, dir
}

func TestAttachmentsInDir(t *testing.T) {
	e, fb, dir := newDirEnv(t)
	p := e.profile("acme", "alice", nil)
	big := append(append([]byte{}, pngBytes...), bytes.Repeat([]byte{7}, 3<<20)...)
	var a ProfileAttachment
	e.mustOK(e.upload(p.ID, "attachment", "me.png", big, nil)).json(t, &a)
	if got := files(t, dir); len(got) != 1 || got[0] != filepath.Join("production", *a.ID) {
		t.Fatalf("files %v, want production/%s", got, *a.ID)
	}
	if countBlobs(t, e) != 0 || gcCount(t, e) != 0 {
		t.Fatalf("chunks in the identity store (%d) or journal records left (%d)", countBlobs(t, e), gcCount(t, e))
	}
	// The download streams from the backend in bounded reads.
	r := e.mustOK(e.do("GET", "/api/1/profile/"+p.ID+"/attachment/me", e.master, nil))
	if !bytes.Equal(r.body, big) || r.header.Get("Content-Length") != "3145836" ||
		r.header.Get("Content-Disposition") != `inline; filename=me.png` {
		t.Fatalf("download: %d bytes, headers %v", len(r.body), r.header)
	}
	if fb.maxRead >= len(big) || fb.readsSeen < 2 {
		t.Fatalf("download read %d bytes at once in %d reads: not streamed", fb.maxRead, fb.readsSeen)
	}
	// Replacing keeps the id, writes a new file and deletes the old one; no
	// journal record is left.
	var a2 ProfileAttachment
	e.mustOK(e.upload(p.ID, "attachment", "me.png", pngBytes, nil)).json(t, &a2)
	if got := files(t, dir); len(got) != 1 || got[0] == filepath.Join("production", *a.ID) || *a2.ID != *a.ID || gcCount(t, e) != 0 {
		t.Fatalf("after replace: files %v, id %s (was %s), %d journal records", got, *a2.ID, *a.ID, gcCount(t, e))
	}
	// Deleting the profile deletes its files.
	e.upload(p.ID, "attachment", "other.png", pngBytes, nil)
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
	if got := files(t, dir); len(got) != 0 || gcCount(t, e) != 0 {
		t.Fatalf("after profile delete: files %v, %d journal records", got, gcCount(t, e))
	}
	// Deleting a tenant deletes its profiles' files.
	q := e.profile("acme", "bob", nil)
	e.mustOK(e.upload(q.ID, "attachment", "b.png", pngBytes, nil))
	e.mustOK(e.do("POST", "/api/1/tenant/acme/delete", e.master, nil))
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("after tenant delete: files %v", got)
	}
}

func TestAttachmentBlobFailures(t *testing.T) {
	e, fb, dir := newDirEnv(t)
	p := e.profile("acme", "alice", nil)
	ctx := context.Background()

	// The backend fails: no metadata, no file, no journal record.
	fb.set(func(f *faultyBlobs) { f.failPut = errors.New("bucket unreachable") })
	if r := e.upload(p.ID, "attachment", "me.png", pngBytes, nil); r.status != http.StatusInternalServerError || r.code() != CodeOther {
		t.Fatalf("failing backend: %d %s", r.status, r.body)
	}
	fb.set(func(f *faultyBlobs) { f.failPut = nil })
	if got := files(t, dir); len(got) != 0 || gcCount(t, e) != 0 {
		t.Fatalf("after a failed put: files %v, %d journal records", got, gcCount(t, e))
	}
	if list, _ := e.svc.Attachments(ctx, e.cred(), p.ID); len(list) != 0 {
		t.Fatalf("metadata of a failed upload: %+v", list)
	}

	// An upload slower than BlobGrace is refused (the sweeper may already
	// be deleting its blob), and its file is removed.
	fb.set(func(f *faultyBlobs) { f.afterPut = func() { e.clock.add(time.Hour + time.Second) } })
	if r := e.upload(p.ID, "attachment", "me.png", pngBytes, nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("upload past the grace: %d %s", r.status, r.body)
	}
	fb.set(func(f *faultyBlobs) { f.afterPut = nil })
	if got := files(t, dir); len(got) != 0 || gcCount(t, e) != 0 {
		t.Fatalf("after a late upload: files %v, %d journal records", got, gcCount(t, e))
	}

	// A crash between the blob and the metadata: the journal record stays
	// pending until BlobGrace, then Sweep deletes the orphan.
	var a ProfileAttachment
	e.mustOK(e.upload(p.ID, "attachment", "keep.png", pngBytes, nil)).json(t, &a)
	orphan := "0190aaaaaaaaaaaaaaaaaaaa"
	if err := e.id.Update(ctx, func(tx *identity.Txn) error {
		return gcRecs(identity.Production).Put(tx.KVTx(kv.Inside()), orphan, blobGC{Key: "production/" + orphan, Due: e.clock.now().Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if err := fb.Store.Put(ctx, "production/"+orphan, bytes.NewReader(pngBytes), int64(len(pngBytes))); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 0 || len(files(t, dir)) != 2 {
		t.Fatalf("sweep before the grace: %d %v, files %v", n, err, files(t, dir))
	}
	e.clock.add(time.Hour)
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the grace: %d %v", n, err)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != filepath.Join("production", *a.ID) {
		t.Fatalf("sweep kept %v, want only the referenced file", got)
	}

	// A failed delete (profile deletion) leaves a due record; Sweep retries.
	fb.set(func(f *faultyBlobs) { f.failDel = errors.New("bucket unreachable") })
	e.mustOK(e.do("POST", "/api/1/profile/"+p.ID+"/delete", e.master, nil))
	if len(files(t, dir)) != 1 || gcCount(t, e) != 1 {
		t.Fatalf("failed delete: files %v, %d journal records", files(t, dir), gcCount(t, e))
	}
	if _, err := e.svc.Sweep(ctx); err == nil {
		t.Fatal("sweep hid the backend failure")
	}
	fb.set(func(f *faultyBlobs) { f.failDel = nil })
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 || len(files(t, dir)) != 0 || gcCount(t, e) != 0 {
		t.Fatalf("sweep retry: %d %v, files %v, %d records", n, err, files(t, dir), gcCount(t, e))
	}
}

func TestAttachmentsDefaultStoreIsTransactional(t *testing.T) {
	e := newEnv(t)
	if e.svc.blobTx == nil {
		t.Fatal("default blob store does not join the identity store's transactions")
	}
	e.tenant("acme")
	p := e.profile("acme", "alice", nil)
	big := append(append([]byte{}, pngBytes...), bytes.Repeat([]byte{9}, 600<<10)...)
	var a ProfileAttachment
	e.mustOK(e.upload(p.ID, "attachment", "me.png", big, nil)).json(t, &a)
	if n := countBlobs(t, e); n != 4 { // header + three chunks
		t.Fatalf("%d blob keys, want 4", n)
	}
	f, err := e.svc.OpenAttachment(context.Background(), e.cred(), p.ID, "me")
	if err != nil || f == nil {
		t.Fatal(f, err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(b, big) || f.Size != int64(len(big)) || f.FileName != "me.png" {
		t.Fatalf("open: %d bytes %v, %+v", len(b), err, f)
	}
	e.mustOK(e.upload(p.ID, "attachment", "me.png", pngBytes, nil))
	if n := countBlobs(t, e); n != 2 || gcCount(t, e) != 0 {
		t.Fatalf("after replace: %d blob keys (want 2), %d journal records", n, gcCount(t, e))
	}
	// A blob store over another identity store is not transactional here.
	other := newEnvWith(t, memory.New(), func(o *Options) { o.Blobs = blob.NewKV(memory.New()) })
	if other.svc.blobTx != nil {
		t.Fatal("a KV over another store was used inside this store's transactions")
	}
}

// cred returns the master credential.
func (e *env) cred() *identity.Credential {
	e.t.Helper()
	c, err := e.svc.Authorize(context.Background(), e.master)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
