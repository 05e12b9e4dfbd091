package identity_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/bolt"
)

// ExampleReplayAuditJournal is what a tool that copies a bolt store does
// before reading it: it writes into the store the audit events its
// journal still holds (none here; after a kill, the events logged since
// the last write into the store), without the key-encryption key a
// Service would need.
func ExampleReplayAuditJournal() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	st, err := bolt.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	n, err := identity.ReplayAuditJournal(ctx, st)
	fmt.Println(n, err)
	// Output: 0 <nil>
}
