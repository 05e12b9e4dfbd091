package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/blob"
	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
)

// allowedTypes maps the permitted file extensions to their MIME types
// (Crafter's validMimeTypes: bmp, gif, jpeg, png, tiff, svg).
var allowedTypes = map[string]string{
	".bmp": "image/bmp", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg",
	".png": "image/png", ".tif": "image/tiff", ".tiff": "image/tiff", ".svg": "image/svg+xml",
}

// sniff returns the image type of data judged from its first bytes, or "".
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "image/gif"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) > 14:
		return "image/bmp"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "image/tiff"
	}
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	if utf8.Valid(head) || len(data) > 4096 && utf8.Valid(head[:len(head)-4]) {
		t := strings.ToLower(string(bytes.TrimLeft(head, "\xef\xbb\xbf \t\r\n")))
		if strings.HasPrefix(t, "<?xml") || strings.HasPrefix(t, "<svg") || strings.HasPrefix(t, "<!--") ||
			strings.HasPrefix(t, "<!doctype svg") {
			if strings.Contains(t, "<svg") {
				return "image/svg+xml"
			}
		}
	}
	return ""
}

// attachmentName splits an uploaded file name into its stored base name
// (no directory, no extension) and extension.
func attachmentName(name string) (base, ext string, err error) {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	ext = strings.ToLower(path.Ext(name))
	base = strings.TrimSuffix(name, path.Ext(name))
	if base == "" || base == "." || base == "/" || len(base) > 200 || !utf8.ValidString(base) {
		return "", "", badRequest("Attachment file name %q is not usable", name)
	}
	for _, r := range base {
		if r < 0x20 || r == 0x7f {
			return "", "", badRequest("Attachment file name must not contain control characters")
		}
	}
	return base, ext, nil
}

func attachmentJSON(a *identity.Attachment) *ProfileAttachment {
	id, name, typ, size := a.ID, a.Name, a.ContentType, readableSize(a.Size)
	return &ProfileAttachment{ID: &id, FileName: &name, ContentType: &typ, FileSize: &size, FileSizeBytes: a.Size}
}

// Attachment bytes live in Options.Blobs under "<environment>/<attachment
// id>"; ids are fresh for every upload, so a key is written once and never
// reused.
//
// With the default store (blob.KV over the identity store) the blob is
// written, replaced and deleted in the transaction that writes the
// metadata: both commit together. Any other backend cannot join that
// transaction, so the order makes every failure leave at worst an
// unreferenced blob, never metadata without bytes, and a journal of
// pending blobs (records "profile-blob-gc" in the identity store) lets
// Sweep delete those orphans:
//
//  1. a transaction checks the profile and records the new blob as
//     pending, due for deletion after BlobGrace;
//  2. the blob is written;
//  3. a transaction, which refuses once the pending record is due, writes
//     the metadata, drops the pending record and records the replaced
//     blob (if any) as due now;
//  4. due blobs are deleted, then their records.
//
// A crash after 1 or 2 leaves a pending record that Sweep reclaims after
// BlobGrace; a crash after 3 leaves the replaced blob's record, reclaimed
// at the next Sweep. Deleting a profile (or a tenant) records its blobs as
// due in the deleting transaction, then deletes them.

// blobGC is a journal record: the blob Key is to be deleted at Due unless
// the record is removed first.
type blobGC struct {
	Key string    `json:"key"`
	Due time.Time `json:"due"`
}

func gcRecs(env identity.Environment) kv.Records[blobGC] {
	return kv.Records[blobGC]{Env: string(env), Kind: "profile-blob-gc"}
}

func blobKeyOf(env identity.Environment, id string) string { return string(env) + "/" + id }

// AddAttachment stores an image attached to a profile. The type must be
// allowed by the file extension and confirmed by the content; the same
// base name replaces the previous file and keeps its id (as Crafter's
// clients expect: the id a page holds still names the attachment).
func (s *Service) AddAttachment(ctx context.Context, c *identity.Credential, profileID, fileName string, data []byte) (*ProfileAttachment, error) {
	if int64(len(data)) > s.opts.MaxAttachmentBytes {
		return nil, apiErr(http.StatusRequestEntityTooLarge, CodeOther, "Attachment is larger than %d bytes", s.opts.MaxAttachmentBytes)
	}
	base, ext, err := attachmentName(fileName)
	if err != nil {
		return nil, err
	}
	typ, ok := allowedTypes[ext]
	if !ok {
		return nil, badRequest("File %q is of a content type which is not allowed (images only: bmp, gif, jpeg, png, tiff, svg)", fileName)
	}
	if got := sniff(data); got != typ {
		return nil, badRequest("File %q does not contain a %s image", fileName, typ)
	}
	d := s.dir(c)
	env := d.Environment()
	id, err := identity.NewObjectID(d.Rand(), d.Now())
	if err != nil {
		return nil, err
	}
	key := blobKeyOf(env, id)
	size := int64(len(data))
	// meta is the new metadata: the bytes under id, the public id of the
	// attachment it replaces if any.
	meta := func(tx *identity.ReadTxn, u *identity.User) (*identity.Attachment, error) {
		a := &identity.Attachment{ID: id, BlobID: id, UserID: u.ID, OrgID: u.OrgID, Name: base, FileName: base + ext,
			ContentType: typ, Size: size, SHA256: identity.HashSecret(string(data)), CreatedAt: d.Now()}
		prev, err := tx.Attachment(u.ID, base)
		if err == nil {
			a.ID = prev.ID
		} else if !errors.Is(err, identity.ErrNotFound) {
			return nil, err
		}
		return a, nil
	}
	var out *ProfileAttachment
	if s.blobTx != nil {
		err = d.Update(ctx, func(tx *identity.Txn) error {
			v, err := loadProfile(&tx.ReadTxn, c, profileID)
			if err != nil {
				return err
			}
			a, err := meta(&tx.ReadTxn, v.u)
			if err != nil {
				return err
			}
			old, err := tx.PutAttachment(a)
			if err != nil {
				return err
			}
			if err := s.blobTx.PutTx(tx.KVTx(kv.Inside()), key, bytes.NewReader(data), size); err != nil {
				return err
			}
			if old != nil && old.Blob() != a.Blob() {
				if err := s.blobTx.DeleteTx(tx.KVTx(kv.Inside()), blobKeyOf(env, old.Blob())); err != nil {
					return err
				}
			}
			out = attachmentJSON(a)
			return tx.Log(attachmentEvent(v.u, a))
		})
		return out, err
	}
	// 1. The profile exists; the blob is pending.
	if err := d.Update(ctx, func(tx *identity.Txn) error {
		if _, err := loadProfile(&tx.ReadTxn, c, profileID); err != nil {
			return err
		}
		return gcRecs(env).Put(tx.KVTx(kv.Inside()), id, blobGC{Key: key, Due: s.base.Now().Add(s.opts.BlobGrace)})
	}); err != nil {
		return nil, err
	}
	// 2. The bytes.
	if err := s.blobs.Put(ctx, key, bytes.NewReader(data), size); err != nil {
		s.reapBlobs(context.WithoutCancel(ctx), env, []string{id})
		return nil, fmt.Errorf("profile: storing attachment: %w", err)
	}
	// 3. The metadata, unless the pending blob is already due.
	var replaced string
	err = d.Update(ctx, func(tx *identity.Txn) error {
		replaced = ""
		v, err := loadProfile(&tx.ReadTxn, c, profileID)
		if err != nil {
			return err
		}
		now := s.base.Now()
		rec, err := gcRecs(env).Get(tx.KVTx(kv.Inside()), id)
		if errors.Is(err, identity.ErrNotFound) || err == nil && !now.Before(rec.Due) {
			return apiErr(http.StatusServiceUnavailable, CodeOther, "Storing the attachment took too long; try again")
		}
		if err != nil {
			return err
		}
		a, err := meta(&tx.ReadTxn, v.u)
		if err != nil {
			return err
		}
		old, err := tx.PutAttachment(a)
		if err != nil {
			return err
		}
		if err := gcRecs(env).Delete(tx.KVTx(kv.Inside()), id); err != nil {
			return err
		}
		if old != nil && old.Blob() != a.Blob() {
			replaced = old.Blob()
			if err := gcRecs(env).Put(tx.KVTx(kv.Inside()), replaced, blobGC{Key: blobKeyOf(env, replaced), Due: now}); err != nil {
				return err
			}
		}
		out = attachmentJSON(a)
		return tx.Log(attachmentEvent(v.u, a))
	})
	if err != nil {
		s.reapBlobs(context.WithoutCancel(ctx), env, []string{id})
		return nil, err
	}
	// 4. The replaced bytes.
	if replaced != "" {
		s.reapBlobs(context.WithoutCancel(ctx), env, []string{replaced})
	}
	return out, nil
}

// attachmentEvent is the audit event of attachment a added to u (or
// replacing the file of the same name).
func attachmentEvent(u *identity.User, a *identity.Attachment) *identity.Event {
	return &identity.Event{Code: identity.EventUserAttachmentAdded, OrgID: u.OrgID, Email: u.Email, ResourceOwnerID: u.ID,
		Data: map[string]any{"attachment_id": a.ID, "file_name": a.FileName, "size": a.Size}}
}

// dropAttachments deletes a user's attachments inside tx: with the default
// store their blobs go in the same transaction; otherwise they are
// recorded as due and their ids appended to reap, for reapBlobs once tx
// has committed.
func (s *Service) dropAttachments(tx *identity.Txn, userID string, reap *[]string) error {
	list, err := tx.DeleteAttachments(userID)
	if err != nil {
		return err
	}
	env := tx.Env()
	now := s.base.Now()
	for _, a := range list {
		key := blobKeyOf(env, a.Blob())
		if s.blobTx != nil {
			err = s.blobTx.DeleteTx(tx.KVTx(kv.Inside()), key)
		} else {
			err = gcRecs(env).Put(tx.KVTx(kv.Inside()), a.Blob(), blobGC{Key: key, Due: now})
			*reap = append(*reap, a.Blob())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reapBlobs deletes the journaled blobs ids of env whose records are due
// (or, for ids of a failed upload, all of them), then their records.
// Failures are logged and left to Sweep.
func (s *Service) reapBlobs(ctx context.Context, env identity.Environment, ids []string) {
	d := s.envs[env]
	for _, id := range ids {
		key := blobKeyOf(env, id)
		if err := s.blobs.Delete(ctx, key); err != nil {
			s.log.Warn("profile: deleting an attachment blob; the sweeper will retry", "blob", key, "err", err)
			continue
		}
		if err := d.Update(ctx, func(tx *identity.Txn) error { return gcRecs(env).Delete(tx.KVTx(kv.Inside()), id) }); err != nil {
			s.log.Warn("profile: dropping a blob journal record", "blob", key, "err", err)
		}
	}
}

// sweepBlobs deletes the blobs whose journal records are due: orphans of
// interrupted uploads and deletions. It returns how many it deleted.
func (s *Service) sweepBlobs(ctx context.Context, batch int) (int, error) {
	if s.blobTx != nil {
		return 0, nil
	}
	total := 0
	for _, env := range []identity.Environment{identity.Sandbox, identity.Production} {
		d := s.envs[env]
		var due []string
		now := s.base.Now()
		err := d.View(ctx, func(tx *identity.ReadTxn) error {
			due = due[:0]
			return gcRecs(env).Scan(tx.KV(kv.Inside()), func(id string, r blobGC) error {
				if !now.Before(r.Due) {
					due = append(due, id)
				}
				if len(due) >= batch {
					return identity.ErrStopScan
				}
				return nil
			})
		})
		if err != nil {
			return total, err
		}
		for _, id := range due {
			// Confirm in a write transaction (serialized with the upload's
			// step 3, which refuses once the record is due) that the blob
			// is still journaled and due.
			still := false
			err := d.Update(ctx, func(tx *identity.Txn) error {
				r, err := gcRecs(env).Get(tx.KVTx(kv.Inside()), id)
				if errors.Is(err, identity.ErrNotFound) {
					still = false
					return nil
				}
				still = err == nil && !s.base.Now().Before(r.Due)
				return err
			})
			if err != nil {
				return total, err
			}
			if !still {
				continue
			}
			key := blobKeyOf(env, id)
			if err := s.blobs.Delete(ctx, key); err != nil {
				return total, fmt.Errorf("profile: deleting orphan blob %s: %w", key, err)
			}
			if err := d.Update(ctx, func(tx *identity.Txn) error { return gcRecs(env).Delete(tx.KVTx(kv.Inside()), id) }); err != nil {
				return total, err
			}
			total++
		}
	}
	return total, nil
}

// Attachments lists a profile's attachments.
func (s *Service) Attachments(ctx context.Context, c *identity.Credential, profileID string) ([]ProfileAttachment, error) {
	out := []ProfileAttachment{}
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		v, err := loadProfile(tx, c, profileID)
		if err != nil {
			return err
		}
		list, err := tx.Attachments(v.u.ID)
		for i := range list {
			out = append(out, *attachmentJSON(&list[i]))
		}
		return err
	})
	return out, err
}

// Attachment returns an attachment's details, or an empty description
// when there is none of that name (Crafter's answer).
func (s *Service) Attachment(ctx context.Context, c *identity.Credential, profileID, name string) (*ProfileAttachment, error) {
	out := &ProfileAttachment{}
	err := s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		v, err := loadProfile(tx, c, profileID)
		if err != nil {
			return err
		}
		if a, err := tx.Attachment(v.u.ID, name); err == nil {
			out = attachmentJSON(a)
		}
		return nil
	})
	return out, err
}

// AttachmentFile is an attachment opened for reading. Close it.
type AttachmentFile struct {
	io.ReadCloser
	// FileName is the stored name with its extension.
	FileName string
	// ContentType is the image type checked at upload.
	ContentType string
	// Size is the length in bytes.
	Size int64
}

// OpenAttachment opens an attachment's bytes for streaming; it returns
// nil (and no error) when the profile has no attachment of that name,
// which the handler answers with an empty 200 as Crafter does.
func (s *Service) OpenAttachment(ctx context.Context, c *identity.Credential, profileID, name string) (*AttachmentFile, error) {
	d := s.dir(c)
	var a *identity.Attachment
	err := d.View(ctx, func(tx *identity.ReadTxn) error {
		v, err := loadProfile(tx, c, profileID)
		if err != nil {
			return err
		}
		if a, err = tx.Attachment(v.u.ID, name); err != nil {
			a = nil
		}
		return nil
	})
	if err != nil || a == nil {
		return nil, err
	}
	key := blobKeyOf(d.Environment(), a.Blob())
	rc, size, err := s.blobs.Get(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		// Metadata without bytes: another blob store than the one that
		// took the upload, or a blob deleted by hand.
		s.log.Error("profile: attachment blob missing", "blob", key)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profile: opening attachment: %w", err)
	}
	if size != a.Size {
		_ = rc.Close()
		return nil, fmt.Errorf("profile: attachment blob %s holds %d bytes, metadata says %d", key, size, a.Size)
	}
	return &AttachmentFile{ReadCloser: rc, FileName: a.FileName, ContentType: a.ContentType, Size: size}, nil
}

// AttachmentContent returns an attachment's bytes and type; a missing
// attachment is found=false (answered with an empty 200, as Crafter does).
// OpenAttachment streams instead of reading the whole file into memory.
func (s *Service) AttachmentContent(ctx context.Context, c *identity.Credential, profileID, name string) (data []byte, contentType string, found bool, err error) {
	f, err := s.OpenAttachment(ctx, c, profileID, name)
	if err != nil || f == nil {
		return nil, "", false, err
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, "", false, fmt.Errorf("profile: reading attachment: %w", err)
	}
	return data, f.ContentType, true, nil
}
