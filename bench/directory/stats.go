package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	bbolt "go.etcd.io/bbolt"
)

// keyClass names the kind of a Gatehouse key for the -stats breakdown:
// its namespace and its first name part (a record kind, an index, a set),
// without the environment or ids.
func keyClass(k []byte) string {
	parts := bytes.Split(k, []byte{0})
	if len(parts) < 3 {
		return string(parts[0])
	}
	name := parts[2]
	if i := bytes.IndexByte(name, 1); i >= 0 {
		name = name[:i]
	}
	return string(parts[0]) + "/" + string(name)
}

type classStats struct {
	n, keys, values int64
	sample          string
}

// stats prints, per key class of the file at path, the number of entries
// and their key and value bytes per user, and bbolt's page statistics:
// where the bytes of a user go.
func stats(path string, users int, out io.Writer) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("data"))
		if b == nil {
			return fmt.Errorf("%s: no data bucket", path)
		}
		classes := map[string]*classStats{}
		if err := b.ForEach(func(k, v []byte) error {
			c := keyClass(k)
			s := classes[c]
			if s == nil {
				s = &classStats{sample: fmt.Sprintf("%q = %q", k, v)}
				classes[c] = s
			}
			s.n++
			s.keys += int64(len(k))
			s.values += int64(len(v))
			return nil
		}); err != nil {
			return err
		}
		names := make([]string, 0, len(classes))
		for c := range classes {
			names = append(names, c)
		}
		slices.SortFunc(names, func(a, b string) int {
			sa, sb := classes[a], classes[b]
			return int((sb.keys + sb.values + 16*sb.n) - (sa.keys + sa.values + 16*sa.n))
		})
		u := float64(users)
		var tot float64
		fmt.Fprintf(out, "\nbytes per user by key class (key + value + bbolt's 16-byte element header):\n")
		for _, c := range names {
			s := classes[c]
			per := float64(s.keys+s.values+16*s.n) / u
			tot += per
			if per < 0.5 {
				continue
			}
			fmt.Fprintf(out, "  %-28s entries/user %5.2f  key %6.1f  value %6.1f  all %7.1f\n", c,
				float64(s.n)/u, float64(s.keys)/u, float64(s.values)/u, per)
		}
		fmt.Fprintf(out, "  %-28s %58.1f\n", "total (data)", tot)
		bs := b.Stats()
		fi := tx.Size()
		fmt.Fprintf(out, "pages: leaf %d (%.1f%% used), branch %d (%.1f%% used); file %d bytes = %.0f per user (data is %.0f%% of it)\n",
			bs.LeafPageN, 100*float64(bs.LeafInuse)/float64(max(bs.LeafAlloc, 1)),
			bs.BranchPageN, 100*float64(bs.BranchInuse)/float64(max(bs.BranchAlloc, 1)),
			fi, float64(fi)/u, 100*tot*u/float64(fi))
		for _, c := range names {
			if s := classes[c]; float64(s.n)/u >= 0.5 {
				fmt.Fprintf(out, "  sample %s\n", trunc(s.sample, 900))
			}
		}
		return nil
	})
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
