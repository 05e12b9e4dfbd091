package tokens

import (
	"context"
	"testing"
)

func TestSmokeIssueVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at, idt, err := f.svc.IssueTokens(ctx, f.req())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(at.Value)
	t.Log(idt.Value)
	c, err := f.verifier(t).Verify(ctx, at.Value)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != f.user.ID {
		t.Fatal(c.Subject)
	}
	j, err := f.svc.JWKSAll(ctx, f.org.Domain)
	t.Log(string(j), err)
}
