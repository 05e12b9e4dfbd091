package gazetteer

import (
	"compress/gzip"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/identity/gazetteer/internal/fold"
)

// BenchmarkNew measures construction, which defers the data load.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGunzipBaseline only decompresses the embedded data: the floor
// under BenchmarkLoad.
func BenchmarkGunzipBaseline(b *testing.B) {
	for b.Loop() {
		zr, err := gzip.NewReader(strings.NewReader(placesGz))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad measures decompressing and indexing the embedded data (the
// one-off cost of the first ResolvePlace).
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		g, err := New()
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Load(); err != nil {
			b.Fatal(err)
		}
	}
}

var benchQueries = []string{"Lille", "San Francisco", "Springfield, Illinois", "Montréal", "Londres", "Zzyzxqville"}

// BenchmarkFoldBaseline only folds the queries: the floor under
// BenchmarkResolvePlace.
func BenchmarkFoldBaseline(b *testing.B) {
	for _, q := range benchQueries {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				fold.Key(q)
			}
		})
	}
}

// BenchmarkResolvePlace measures lookups on a loaded gazetteer.
func BenchmarkResolvePlace(b *testing.B) {
	g := load(b)
	ctx := context.Background()
	for _, q := range benchQueries {
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = g.ResolvePlace(ctx, q)
			}
		})
	}
}
