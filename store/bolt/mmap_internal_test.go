package bolt

import "testing"

// The mapping Open asks for: WithMmapSize's value when set, otherwise
// room to double (at least 1 GiB) where address space is plentiful and a
// mapping does not grow the file.
func TestMmapSize(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name    string
		n       int
		size    int64
		goos    string
		intSize int
		want    int
	}{
		{"new file", -1, 0, "linux", 64, gib},
		{"small file", -1, 300 << 20, "darwin", 64, gib},
		{"large file", -1, 3 * gib, "linux", 64, 6 * gib},
		{"windows grows the file to the mapping", -1, 3 * gib, "windows", 64, 0},
		{"32-bit address space", -1, 0, "linux", 32, 0},
		{"bbolt's own policy", 0, 3 * gib, "linux", 64, 0},
		{"set", 64 << 20, 3 * gib, "windows", 64, 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mmapSize(tc.n, tc.size, tc.goos, tc.intSize); got != tc.want {
				t.Fatalf("mmapSize(%d, %d, %s, %d) = %d, want %d", tc.n, tc.size, tc.goos, tc.intSize, got, tc.want)
			}
		})
	}
}
