package kv

// Compact ids. Gatehouse's ids are UUIDs in their canonical text form (36
// bytes: lowercase hexadecimal and four dashes) and Crafter ObjectIDs (24
// bytes of lowercase hexadecimal). Where they are stored as values (the
// owner of a unique index entry, the ids inside a user record) they take
// 16 and 12 bytes instead; any other string is stored as it is. Keys keep
// the text form: a key's byte order is what lists and cursors follow, and
// a set's members written by earlier builds must keep sorting with new
// ones.
//
// The unique index's value is the owner's id as text (as every build
// before this one wrote it) or, for a canonical UUID, 0x00 followed by the
// UUID's 16 bytes. An id never contains 0x00 (CheckParts refuses it in
// Claim), so a value of 17 bytes that starts with 0x00 is always the
// compact form: both read back as the same id.

const hexDigits = "0123456789abcdef"

// uuidDashes are the positions of the dashes of a canonical UUID.
var uuidDashes = [4]int{8, 13, 18, 23}

// ParseUUID returns the 16 bytes of id when it is a UUID in canonical
// form (lowercase hexadecimal, dashes at 8, 13, 18 and 23), so that
// FormatUUID gives back exactly id.
func ParseUUID(id string) (b [16]byte, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return b, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, lo := unhex(id[i]), unhex(id[i+1])
		if hi < 0 || lo < 0 {
			return b, false
		}
		b[j] = byte(hi<<4 | lo)
		j++
	}
	return b, true
}

// FormatUUID is the canonical text form of a UUID's 16 bytes.
func FormatUUID(b []byte) string {
	var out [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		for _, d := range uuidDashes {
			if j == d {
				out[j] = '-'
				j++
			}
		}
		out[j], out[j+1] = hexDigits[b[i]>>4], hexDigits[b[i]&15]
		j += 2
	}
	return string(out[:])
}

// ParseHex returns the bytes of s when s is lowercase hexadecimal of even
// length, so that FormatHex gives back exactly s.
func ParseHex(s string, dst []byte) ([]byte, bool) {
	if len(s)%2 != 0 {
		return dst, false
	}
	for i := 0; i < len(s); i += 2 {
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi < 0 || lo < 0 {
			return dst, false
		}
		dst = append(dst, byte(hi<<4|lo))
	}
	return dst, true
}

// FormatHex is the lowercase hexadecimal form of b.
func FormatHex(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&15]
	}
	return string(out)
}

// unhex is the value of a lowercase hexadecimal digit, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// AppendID appends the stored form of id as a unique index's value: 0x00
// and 16 bytes for a canonical UUID, the text otherwise.
func AppendID(dst []byte, id string) []byte {
	if b, ok := ParseUUID(id); ok {
		return append(append(dst, 0), b[:]...)
	}
	return append(dst, id...)
}

// DecodeID reads an id that AppendID stored, or that an earlier build
// stored as text.
func DecodeID(v []byte) string {
	if len(v) == 17 && v[0] == 0 {
		return FormatUUID(v[1:])
	}
	return string(v)
}
