package profile

import (
	"testing"
	"time"
)

// TestJavaInstant: /monitoring/status's startup is written as Crafter's
// Instant.toString writes a millisecond time ("2019-03-07T21:29:11.049Z"
// in the 4.5 document's sample).
func TestJavaInstant(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2019, 3, 7, 21, 29, 11, 49_000_000, time.UTC), "2019-03-07T21:29:11.049Z"},
		{time.Date(2019, 3, 7, 21, 29, 11, 49_999_999, time.UTC), "2019-03-07T21:29:11.049Z"},
		{time.Date(2019, 3, 7, 21, 29, 11, 500_000_000, time.UTC), "2019-03-07T21:29:11.500Z"},
		{time.Date(2019, 3, 7, 21, 29, 11, 0, time.UTC), "2019-03-07T21:29:11Z"},
		{time.Date(2019, 3, 7, 21, 29, 11, 999_999, time.UTC), "2019-03-07T21:29:11Z"},
		{time.Date(2019, 3, 7, 22, 29, 11, 1_000_000, paris), "2019-03-07T21:29:11.001Z"},
	}
	for _, tc := range tests {
		if got := javaInstant(tc.in); got != tc.want {
			t.Errorf("javaInstant(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
