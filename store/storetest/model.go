package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// testScanModel runs random writes and scans against the store and against
// a sorted map, and compares every scan. Keys use a tiny alphabet with
// 0x00, 0x01 and 0xff so prefix and cursor boundaries are hit often.
func testScanModel(t *testing.T, s identity.Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 'a', 'b', 0xfe, 0xff}
	randKey := func(minLen, maxLen int) []byte {
		k := make([]byte, minLen+rng.IntN(maxLen-minLen+1))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	model := map[string]string{}
	for round := 0; round < 60; round++ {
		// A transaction of a few random writes, sometimes rolled back.
		type op struct {
			del  bool
			k, v []byte
		}
		var ops []op
		for i := rng.IntN(8); i >= 0; i-- {
			ops = append(ops, op{del: rng.IntN(4) == 0, k: randKey(1, 4), v: randKey(0, 3)})
		}
		fail := rng.IntN(5) == 0
		err := s.Update(ctx, func(tx identity.Tx) error {
			for _, o := range ops {
				var err error
				if o.del {
					err = tx.Delete(o.k)
				} else {
					err = tx.Put(o.k, o.v)
				}
				if err != nil {
					return err
				}
			}
			if fail {
				return errRollback
			}
			return nil
		})
		if fail != (err == errRollback) || (!fail && err != nil) {
			t.Fatalf("round %d: Update = %v (fail=%v)", round, err, fail)
		}
		if !fail {
			for _, o := range ops {
				if o.del {
					delete(model, string(o.k))
				} else {
					model[string(o.k)] = string(o.v)
				}
			}
		}
		for q := 0; q < 10; q++ {
			prefix := randKey(0, 2)
			opts := identity.ScanOptions{Reverse: rng.IntN(2) == 0, Skip: rng.IntN(3), Limit: rng.IntN(5), KeysOnly: rng.IntN(3) == 0}
			if rng.IntN(2) == 0 {
				opts.After = append(slices.Clone(prefix), randKey(0, 2)...)
			}
			want := modelScan(model, prefix, opts)
			var got []string
			err := s.View(ctx, func(tx identity.ReadTx) error {
				return tx.Scan(prefix, opts, func(k, v []byte) error {
					if opts.KeysOnly {
						got = append(got, fmt.Sprintf("%x", k))
					} else {
						got = append(got, fmt.Sprintf("%x=%x", k, v))
					}
					return nil
				})
			})
			if err != nil {
				t.Fatalf("Scan(%x, %+v): %v", prefix, opts, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: Scan(%x, reverse=%v after=%x skip=%d limit=%d keysOnly=%v)\n got  %q\n want %q",
					round, prefix, opts.Reverse, opts.After, opts.Skip, opts.Limit, opts.KeysOnly, got, want)
			}
		}
		// Point reads agree too.
		k := randKey(1, 4)
		var gotV []byte
		var gotErr error
		_ = s.View(ctx, func(tx identity.ReadTx) error {
			v, err := tx.Get(k)
			gotV, gotErr = slices.Clone(v), err
			return nil
		})
		if mv, ok := model[string(k)]; ok != (gotErr == nil) || (ok && mv != string(gotV)) {
			t.Fatalf("round %d: Get(%x) = %x, %v; model has %x (%v)", round, k, gotV, gotErr, mv, ok)
		}
	}
}

var errRollback = fmt.Errorf("roll back")

func modelScan(model map[string]string, prefix []byte, opts identity.ScanOptions) []string {
	var keys []string
	for k := range model {
		if bytes.HasPrefix([]byte(k), prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if opts.Reverse {
		slices.Reverse(keys)
	}
	var out []string
	skip := opts.Skip
	for _, k := range keys {
		if opts.After != nil {
			c := bytes.Compare([]byte(k), opts.After)
			if (!opts.Reverse && c <= 0) || (opts.Reverse && c >= 0) {
				continue
			}
		}
		if skip > 0 {
			skip--
			continue
		}
		if opts.KeysOnly {
			out = append(out, fmt.Sprintf("%x", k))
		} else {
			out = append(out, fmt.Sprintf("%x=%x", k, model[k]))
		}
		if opts.Limit > 0 && len(out) == opts.Limit {
			break
		}
	}
	return out
}
