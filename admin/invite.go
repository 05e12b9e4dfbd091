package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Invitations (Options.Invitations): the user page's "Mail a sign-in
// invitation" and the new-user form's "Mail an invitation link" call
// Invitations.InviteUser with the member's scoped service, so the core's
// rule (identity.Service.InviteUser) decides: another organization's
// user is a 404, a disabled one is refused, the address's send budget
// applies and the USER_INVITED event names the member.

// landings lists the applications an invitation may land in: those of
// the organization with a web origin (identity.Application
// InvitationLanding; the core checks the choice again). It is empty when the member may not invite.
func (c *Console) landings(q *request, domain string) ([]identity.Application, error) {
	if c.invites == nil || !q.can(update, users) {
		return nil, nil
	}
	p, err := q.svc.ListApplications(q.ctx(), domain, identity.PageRequest{Page: 1, PerPage: identity.MaxPerPage})
	if err != nil {
		return nil, err
	}
	var out []identity.Application
	for _, a := range p.Items {
		if a.InvitationLanding() != "" && a.Metadata[consoleAppMarker] != "true" {
			out = append(out, a)
		}
	}
	return out, nil
}

// invite mails the user id of domain an invitation landing in clientID
// ("" for the organization's page).
func (c *Console) invite(q *request, domain, id, clientID string) error {
	_, err := c.invites.InviteUser(q.ctx(), q.svc, identity.InvitationRequest{OrgDomain: domain, UserID: id,
		ClientID: strings.TrimSpace(clientID), ClientAddr: httpx.ClientAddress(q.r)}, q.lang)
	return err
}

// inviteFailed answers a refused invitation: a spent send budget 429, a
// disabled user 409, a bad landing 422; any other error goes to fail.
func (c *Console) inviteFailed(w http.ResponseWriter, q *request, err error) error {
	switch {
	case errors.Is(err, identity.ErrBusy):
		c.page(w, q, http.StatusTooManyRequests, "message", view{Title: "users.reset.busy", Message: "users.reset.busy.text"})
	case errors.Is(err, identity.ErrDisabled):
		c.page(w, q, http.StatusConflict, "message", view{Title: "users.invite.disabled", Message: "users.invite.disabled.text"})
	case errors.Is(err, identity.ErrInvalid):
		c.page(w, q, http.StatusUnprocessableEntity, "message", view{Title: "error.bad", Message: "error.bad.text"})
	default:
		return err
	}
	return nil
}

// userInvite mails a user an invitation.
func (c *Console) userInvite(w http.ResponseWriter, q *request) error {
	if c.invites == nil {
		return fmt.Errorf("invitations are not configured: %w", identity.ErrNotFound)
	}
	dom, id := q.r.PathValue("org"), q.r.PathValue("id")
	if err := c.invite(q, dom, id, q.r.PostForm.Get("client_id")); err != nil {
		return c.inviteFailed(w, q, err)
	}
	return c.redirect(w, q, userPath(dom, id)+"?done=users.invite.sent")
}
