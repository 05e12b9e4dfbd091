package memory_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/kv"
	"github.com/gatehouse-id/gatehouse/store/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	users := kv.Set{Env: string(identity.Production), Parts: []string{"users"}}
	_ = s.Update(ctx, func(tx identity.Tx) error {
		for _, id := range []string{"u1", "u2", "u3"} {
			if err := users.Add(tx, id, nil); err != nil {
				return err
			}
		}
		return nil
	})
	_ = s.View(ctx, func(tx identity.ReadTx) error {
		n, _ := users.Count(tx)
		newest, _ := users.Page(tx, true, 0, 2)
		fmt.Println(n, newest)
		return nil
	})
	// Output: 3 [u3 u2]
}
