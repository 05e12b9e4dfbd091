package cryptrhttp

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/identity"
)

// TestListShapePageInfo pins next_page and prev_page as the document's
// list samples write them: next_page 1 on the only page of a "pagination"
// list (organizations, applications), 0 on that of a "paginate" list (SSO
// connections, log events); prev_page 0 on the first page.
func TestListShapePageInfo(t *testing.T) {
	tests := []struct {
		name        string
		shape       ListShape
		page, total int
		want        PageInfo
	}{
		{"pagination only page", Pagination, 1, 1, PageInfo{CurrentPage: 1, NextPage: 1, PerPage: 8, PrevPage: 0, TotalPages: 1}},
		{"pagination empty", Pagination, 1, 0, PageInfo{CurrentPage: 1, NextPage: 1, PerPage: 8, PrevPage: 0, TotalPages: 1}},
		{"total_count only page", PaginationTotalCount, 1, 1, PageInfo{CurrentPage: 1, NextPage: 1, PerPage: 8, PrevPage: 0, TotalPages: 1}},
		{"pagination first of three", Pagination, 1, 20, PageInfo{CurrentPage: 1, NextPage: 2, PerPage: 8, PrevPage: 0, TotalPages: 3}},
		{"pagination last of three", Pagination, 3, 20, PageInfo{CurrentPage: 3, NextPage: 3, PerPage: 8, PrevPage: 2, TotalPages: 3}},
		{"pagination past the end", Pagination, 9, 20, PageInfo{CurrentPage: 9, NextPage: 3, PerPage: 8, PrevPage: 3, TotalPages: 3}},
		{"paginate only page", Paginate, 1, 2, PageInfo{CurrentPage: 1, NextPage: 0, PerPage: 8, PrevPage: 0, TotalPages: 1}},
		{"paginate first of three", Paginate, 1, 20, PageInfo{CurrentPage: 1, NextPage: 2, PerPage: 8, PrevPage: 0, TotalPages: 3}},
		{"paginate last of three", Paginate, 3, 20, PageInfo{CurrentPage: 3, NextPage: 0, PerPage: 8, PrevPage: 2, TotalPages: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.shape.PageInfo(identity.PageRequest{Page: tt.page, PerPage: 8}, tt.total)
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
