package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
)

const members = identity.ResourceConsoleMembers

// membersData is the console members page.
type membersData struct {
	Members []identity.ConsoleMember
	Roles   []identity.ConsoleRole
	Account string
}

func (c *Console) membersPage(w http.ResponseWriter, q *request, status int, v view) error {
	list, err := c.svc.ListConsoleMembers(q.ctx())
	if err != nil {
		return err
	}
	v.Title = "members.title"
	v.Data = membersData{Members: list, Roles: identity.ConsoleRoles(), Account: c.svc.AccountDomain()}
	if v.Form == nil {
		v.Form = url.Values{"role": {string(identity.ConsoleViewer)}}
	}
	if v.Notice == "" {
		v.Notice = notice(q)
	}
	c.page(w, q, status, "members", v)
	return nil
}

func (c *Console) memberList(w http.ResponseWriter, q *request) error {
	return c.membersPage(w, q, http.StatusOK, view{})
}

// memberGrant grants a role to a user of the account's organization,
// named by email.
func (c *Console) memberGrant(w http.ResponseWriter, q *request) error {
	f := q.r.PostForm
	refuse := func(errs map[string]string) error {
		return c.membersPage(w, q, http.StatusUnprocessableEntity, view{Errors: errs, Form: f})
	}
	email := strings.TrimSpace(f.Get("email"))
	u, err := c.svc.GetUserByEmail(q.ctx(), c.svc.AccountDomain(), email)
	if errors.Is(err, identity.ErrNotFound) || email == "" {
		return refuse(map[string]string{"email": "is not a user of the account's organization"})
	} else if err != nil {
		return err
	}
	var orgs []string
	for _, d := range strings.FieldsFunc(f.Get("orgs"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		orgs = append(orgs, d)
	}
	_, err = c.svc.PutConsoleMember(q.ctx(), identity.ConsoleMember{UserID: u.ID, Role: identity.ConsoleRole(f.Get("role")),
		Orgs: orgs, GrantedBy: q.member.UserID})
	if errs, ok := fieldErrors(err); ok {
		return refuse(errs)
	}
	if errors.Is(err, identity.ErrConflict) {
		return refuse(map[string]string{"role": "the console must keep an owner over every organization"})
	}
	if err != nil {
		return err
	}
	return c.redirect(w, q, "/members?done=members.granted")
}

func (c *Console) memberRevoke(w http.ResponseWriter, q *request) error {
	err := c.svc.RevokeConsoleRole(q.ctx(), q.r.PathValue("id"))
	if errors.Is(err, identity.ErrConflict) {
		return c.membersPage(w, q, http.StatusConflict, view{Errors: map[string]string{"role": "the console must keep an owner over every organization"}})
	}
	if err != nil {
		return err
	}
	return c.redirect(w, q, "/members?done=members.revoked")
}
