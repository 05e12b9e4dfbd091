//go:build linux

package bolt_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSyncFloor measures the disk's part of a commit without bbolt: n
// pages of 4 KiB written at random offsets of a 64 MiB file, an fdatasync,
// then one page at offset 0 (bbolt's meta page) and a second fdatasync,
// as a bbolt commit does. Read BenchmarkGrants' pages/commit and
// sync-µs/commit (tokens/provider) against it: what a commit's page count
// costs on this disk.
//
// Each size runs twice: scattered (one write per page, at random offsets,
// as bbolt writes a commit whose pages its freelist placed anywhere in the
// file) and contiguous (the same bytes in one write at one random
// offset: what the commit would cost if its pages sat side by side).
// Besides the time, sys-µs/op is the kernel CPU the commit used.
//
//	go test -run '^$' -bench BenchmarkSyncFloor ./store/bolt/
func BenchmarkSyncFloor(b *testing.B) {
	const size = 64 << 20
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "floor"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	page := make([]byte, 4096)
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 10, 20, 40, 70} {
		for _, layout := range []string{"scattered", "contiguous"} {
			b.Run(fmt.Sprintf("pages=%d/%s", n, layout), func(b *testing.B) {
				run := make([]byte, n*4096)
				s0 := sysTime()
				for b.Loop() {
					if layout == "contiguous" {
						if _, err := f.WriteAt(run, int64(1+rnd.IntN(size/4096-n))*4096); err != nil {
							b.Fatal(err)
						}
					} else {
						for range n {
							if _, err := f.WriteAt(page, int64(1+rnd.IntN(size/4096-1))*4096); err != nil {
								b.Fatal(err)
							}
						}
					}
					if err := syscall.Fdatasync(int(f.Fd())); err != nil {
						b.Fatal(err)
					}
					if _, err := f.WriteAt(page, 0); err != nil {
						b.Fatal(err)
					}
					if err := syscall.Fdatasync(int(f.Fd())); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((sysTime()-s0).Microseconds())/float64(b.N), "sys-µs/op")
			})
		}
	}
}

// sysTime is the kernel CPU time this process has used.
func sysTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Stime.Nano())
}
