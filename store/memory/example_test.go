package memory_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	_ = s.Update(ctx, func(tx identity.Tx) error {
		for _, k := range []string{"a/1", "a/2", "a/3", "b/1"} {
			if err := tx.Put([]byte(k), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	_ = s.View(ctx, func(tx identity.ReadTx) error {
		var newest []string
		_ = tx.Scan([]byte("a/"), identity.ScanOptions{Reverse: true, Limit: 2, KeysOnly: true}, func(k, _ []byte) error {
			newest = append(newest, string(k))
			return nil
		})
		fmt.Println(newest)
		return nil
	})
	// Output: [a/3 a/2]
}
