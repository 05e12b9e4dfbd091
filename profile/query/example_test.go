package query_test

import (
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/profile/query"
)

func Example() {
	q, err := query.Parse(`{roles: 'ADMIN', username: {$regex: '^JO', $options: 'i'}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	profile := map[string]any{
		"username": "john.doe",
		"roles":    []string{"ADMIN", "USER"},
		"attributes": map[string]any{
			"firstName": "John",
		},
	}
	fmt.Println(q.Match(profile))
	fmt.Println(q.IndexHints())
	// Output:
	// true
	// [{roles [ADMIN]}]
}

func ExampleParse_rejected() {
	_, err := query.Parse(`{attributes.salary: {$gt: 1000}}`, query.WithDeniedAttributes("salary"))
	var qe *query.Error
	if errors.As(err, &qe) {
		fmt.Println(qe.Kind, qe.Offset, qe.Msg)
	}
	_, err = query.Parse(`{tenant: 'other'}`)
	if errors.As(err, &qe) {
		fmt.Println(qe.Kind, qe.Offset, qe.Msg)
	}
	// Output:
	// denied 1 Attribute "salary" is not allowed in query
	// tenant 1 Field "tenant" is not allowed in query
}

func ExampleSort() {
	docs := []map[string]any{
		{"username": "carol"},
		{"username": "alice"},
		{},
	}
	query.Sort(docs, "username", true)
	for _, d := range docs {
		fmt.Println(d["username"])
	}
	// Output:
	// <nil>
	// alice
	// carol
}
