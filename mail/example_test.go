package mail_test

import (
	"context"
	"fmt"
	"os"

	"github.com/gatehouse-id/gatehouse/mail"
)

func ExampleDirMailer() {
	dir, _ := os.MkdirTemp("", "mail")
	defer os.RemoveAll(dir)
	m, _ := mail.NewDirMailer(dir)
	err := m.Send(context.Background(), mail.Message{
		From:    "noreply@example.com",
		To:      []string{"alice@example.org"},
		Subject: "Verify Account",
		Text:    "https://app.example.com/verify?tokenId=...",
	})
	files, _ := os.ReadDir(dir)
	fmt.Println(err, len(files))
	// Output: <nil> 1
}
