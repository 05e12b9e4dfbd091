package profile

import (
	"bytes"
	"context"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/identity"
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

// AddAttachment stores an image attached to a profile. The type must be
// allowed by the file extension and confirmed by the content; the same
// base name replaces the previous file.
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
	id, err := identity.NewObjectID(d.Rand(), d.Now())
	if err != nil {
		return nil, err
	}
	var out *ProfileAttachment
	err = d.Update(ctx, func(tx *identity.Txn) error {
		v, err := loadProfile(&tx.ReadTxn, c, profileID)
		if err != nil {
			return err
		}
		a := &identity.Attachment{ID: id, UserID: v.u.ID, OrgID: v.u.OrgID, Name: base, FileName: base + ext,
			ContentType: typ, Size: int64(len(data)), SHA256: identity.HashSecret(string(data)), CreatedAt: d.Now()}
		if err := tx.PutAttachment(a, data); err != nil {
			return err
		}
		out = attachmentJSON(a)
		return nil
	})
	return out, err
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

// AttachmentContent returns an attachment's bytes and type; a missing
// attachment is found=false (answered with an empty 200, as Crafter does).
func (s *Service) AttachmentContent(ctx context.Context, c *identity.Credential, profileID, name string) (data []byte, contentType string, found bool, err error) {
	err = s.dir(c).View(ctx, func(tx *identity.ReadTxn) error {
		v, err := loadProfile(tx, c, profileID)
		if err != nil {
			return err
		}
		a, err := tx.Attachment(v.u.ID, name)
		if err != nil {
			return nil
		}
		data, err = tx.AttachmentData(a)
		contentType, found = a.ContentType, err == nil
		return err
	})
	return data, contentType, found, err
}
