package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

func isConflict(err error) bool { return errors.Is(err, identity.ErrConflict) }

// userListData is the user list of an organization.
type userListData struct {
	Org   *identity.Organization
	Query string
	// Meta is the MetaData condition typed ("key=value", or "").
	Meta  string
	Users []identity.User
	Next  string
	After string
}

func (c *Console) userList(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	qs := q.r.URL.Query()
	d := userListData{Org: o, Query: strings.TrimSpace(qs.Get("q")), Meta: strings.TrimSpace(qs.Get("meta")), After: qs.Get("after")}
	search := identity.UserSearch{Query: d.Query, After: d.After, Limit: 20}
	if d.Meta != "" {
		// "key=value": the core matches it (identity.UserSearch.MetaKey).
		k, v, ok := strings.Cut(d.Meta, "=")
		if !ok {
			k, v = d.Meta, ""
			err = identity.Invalid("meta", "must be key=value")
		}
		search.MetaKey, search.MetaValue = k, v
	}
	var p identity.UserSearchPage
	if err == nil {
		p, err = q.svc.SearchUsers(q.ctx(), o.Domain, search)
	}
	if errs, ok := fieldErrors(err); ok {
		c.page(w, q, http.StatusBadRequest, "users", view{Title: "users.title", Errors: errs, Data: d})
		return nil
	} else if err != nil {
		return err
	}
	d.Users, d.Next = p.Users, p.Next
	c.page(w, q, http.StatusOK, "users", view{Title: "users.title", Data: d, Notice: notice(q)})
	return nil
}

// userData is a user's page.
type userData struct {
	Org      *identity.Organization
	User     *identity.User
	MetaKeys []identity.AttributeDefinition
	Locked   bool
	// Meta holds the MetaData form's values.
	Meta url.Values
	// MetaErrors are the MetaData form's field messages.
	MetaErrors map[string]string
	// Sessions are the user's live tickets and persistent logins (the
	// first identity.MaxListedSessions), SessionCount all of them.
	Sessions     []identity.UserSession
	SessionCount int
	// Landings are the applications an invitation may land in
	// (Options.Invitations).
	Landings []identity.Application
}

// userNewData is the new-user form.
type userNewData struct {
	*identity.Organization
	// Landings are the applications an invitation may land in.
	Landings []identity.Application
}

// MetaVal returns the MetaData form's value of key.
func (d userData) MetaVal(key string) string { return d.Meta.Get(key) }

// MetaErr returns the message of a MetaKey's field.
func (d userData) MetaErr(key string) string { return d.MetaErrors["metadata."+key] }

func (c *Console) userNew(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	l, err := c.landings(q, o.Domain)
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "user_new", view{Title: "users.new", Form: url.Values{}, Data: userNewData{o, l}})
	return nil
}

// profileOf reads the profile fields of a user form into p.
func profileOf(f url.Values, p *identity.Profile) {
	p.GivenName = strings.TrimSpace(f.Get("given_name"))
	p.FamilyName = strings.TrimSpace(f.Get("family_name"))
	p.Name = strings.TrimSpace(f.Get("name"))
	p.PhoneNumber = strings.TrimSpace(f.Get("phone_number"))
	p.Locale = strings.TrimSpace(f.Get("locale"))
	p.Zoneinfo = strings.TrimSpace(f.Get("zoneinfo"))
	p.Birthdate = strings.TrimSpace(f.Get("birthdate"))
}

func (c *Console) userCreate(w http.ResponseWriter, q *request) error {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return err
	}
	f := q.r.PostForm
	in := identity.User{Email: strings.TrimSpace(f.Get("email")), Enabled: true, Verified: f.Get("verified") == "on"}
	profileOf(f, &in.Profile)
	pw := f.Get("password")
	var errs map[string]string
	if pw != "" && len(pw) < 8 {
		errs = map[string]string{"password": "must be at least 8 characters"}
	}
	var u *identity.User
	if errs == nil {
		u, err = q.svc.CreateUser(q.ctx(), o.Domain, in, pw)
		if e, ok := fieldErrors(err); ok {
			errs = e
		} else if f := identity.ConflictField(err); f != "" {
			errs = map[string]string{f: "is already taken in this organization"}
		} else if err != nil {
			return err
		}
	}
	if errs != nil {
		f.Del("password")
		l, err := c.landings(q, o.Domain)
		if err != nil {
			return err
		}
		c.page(w, q, http.StatusUnprocessableEntity, "user_new", view{Title: "users.new", Errors: errs, Form: f,
			Data: userNewData{o, l}})
		return nil
	}
	if c.invites != nil && f.Get("invite") == "on" {
		if err := c.invite(q, o.Domain, u.ID, f.Get("client_id")); errors.Is(err, identity.ErrBusy) || errors.Is(err, identity.ErrInvalid) {
			// The user exists now: its page says the mail was not sent.
			return c.redirect(w, q, userPath(o.Domain, u.ID)+"?done=users.invite.notsent")
		} else if err != nil {
			return err
		}
		return c.redirect(w, q, userPath(o.Domain, u.ID)+"?done=users.invite.created")
	}
	return c.redirect(w, q, userPath(o.Domain, u.ID)+"?done=users.created")
}

func userPath(domain, id string) string {
	return "/orgs/" + url.PathEscape(domain) + "/users/" + url.PathEscape(id)
}

// loadUser reads the organization, user and MetaKeys of a user page.
func (c *Console) loadUser(q *request) (*userData, error) {
	o, err := q.svc.GetOrganization(q.ctx(), q.r.PathValue("org"))
	if err != nil {
		return nil, err
	}
	u, err := q.svc.GetUser(q.ctx(), o.Domain, q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	keys, err := q.svc.ListMetaKeys(q.ctx(), o.Domain)
	if err != nil {
		return nil, err
	}
	d := &userData{Org: o, User: u, MetaKeys: keys, Locked: u.LockedAt(c.svc.Now()), Meta: url.Values{}}
	if d.Sessions, d.SessionCount, err = q.svc.ListUserSessions(q.ctx(), o.Domain, u.ID); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if v, ok := u.Attributes[k.Name]; ok && v != nil {
			d.Meta.Set(k.Name, identity.MetaDataText(v))
		}
	}
	return d, nil
}

func userForm(u *identity.User) url.Values {
	f := url.Values{}
	f.Set("given_name", u.Profile.GivenName)
	f.Set("family_name", u.Profile.FamilyName)
	f.Set("name", u.Profile.Name)
	f.Set("phone_number", u.Profile.PhoneNumber)
	f.Set("locale", u.Profile.Locale)
	f.Set("zoneinfo", u.Profile.Zoneinfo)
	f.Set("birthdate", u.Profile.Birthdate)
	return f
}

func (c *Console) userShow(w http.ResponseWriter, q *request) error {
	d, err := c.loadUser(q)
	if err != nil {
		return err
	}
	if d.User.Enabled {
		if d.Landings, err = c.landings(q, d.Org.Domain); err != nil {
			return err
		}
	}
	c.page(w, q, http.StatusOK, "user", view{Title: "users.profile", Form: userForm(d.User), Data: d, Notice: notice(q)})
	return nil
}

func (c *Console) userUpdate(w http.ResponseWriter, q *request) error {
	d, err := c.loadUser(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	_, err = q.svc.UpdateUser(q.ctx(), d.Org.Domain, d.User.ID, func(u *identity.User) error {
		addr := u.Profile.Address
		profileOf(f, &u.Profile)
		u.Profile.Address = addr
		return nil
	})
	if errs, ok := fieldErrors(err); ok {
		c.page(w, q, http.StatusUnprocessableEntity, "user", view{Title: "users.profile", Errors: trimProfile(errs), Form: f, Data: d})
		return nil
	} else if err != nil {
		return err
	}
	return c.redirect(w, q, userPath(d.Org.Domain, d.User.ID)+"?done=users.saved")
}

// trimProfile renames "profile.x" fields to the form's "x".
func trimProfile(errs map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range errs {
		out[strings.TrimPrefix(k, "profile.")] = v
	}
	return out
}

// userMetadata sets every MetaKey value of the form in one change: a value
// of the wrong type (or a required one left empty) refuses the whole form.
func (c *Console) userMetadata(w http.ResponseWriter, q *request) error {
	d, err := c.loadUser(q)
	if err != nil {
		return err
	}
	f := q.r.PostForm
	_, err = q.svc.UpdateUser(q.ctx(), d.Org.Domain, d.User.ID, func(u *identity.User) error {
		for _, k := range d.MetaKeys {
			v := strings.TrimSpace(f.Get("meta." + k.Name))
			if v == "" {
				delete(u.Attributes, k.Name)
			} else {
				u.Attributes[k.Name] = v
			}
		}
		return nil
	})
	if errs, ok := fieldErrors(err); ok {
		d.Meta, d.MetaErrors = url.Values{}, errs
		for _, k := range d.MetaKeys {
			d.Meta.Set(k.Name, f.Get("meta."+k.Name))
		}
		c.page(w, q, http.StatusUnprocessableEntity, "user", view{Title: "users.profile", Form: userForm(d.User), Data: d,
			Errors: errs})
		return nil
	} else if err != nil {
		return err
	}
	return c.redirect(w, q, userPath(d.Org.Domain, d.User.ID)+"?done=users.metadata.saved")
}

func (c *Console) userEnable(enabled bool) handler {
	return func(w http.ResponseWriter, q *request) error {
		dom, id := q.r.PathValue("org"), q.r.PathValue("id")
		if _, err := q.svc.SetUserEnabled(q.ctx(), dom, id, enabled); err != nil {
			return err
		}
		done := "users.enabled.done"
		if !enabled {
			done = "users.disabled.done"
		}
		return c.redirect(w, q, userPath(dom, id)+"?done="+done)
	}
}

func (c *Console) userUnlock(w http.ResponseWriter, q *request) error {
	dom, id := q.r.PathValue("org"), q.r.PathValue("id")
	if _, err := q.svc.UnlockUser(q.ctx(), dom, id); err != nil {
		return err
	}
	return c.redirect(w, q, userPath(dom, id)+"?done=users.unlocked")
}

func (c *Console) userEndSessions(w http.ResponseWriter, q *request) error {
	dom, id := q.r.PathValue("org"), q.r.PathValue("id")
	if _, err := q.svc.EndSessions(q.ctx(), dom, id); err != nil {
		return err
	}
	return c.redirect(w, q, userPath(dom, id)+"?done=users.sessionsended")
}

func (c *Console) userDeleteConfirm(w http.ResponseWriter, q *request) error {
	d, err := c.loadUser(q)
	if err != nil {
		return err
	}
	c.page(w, q, http.StatusOK, "user_delete", view{Title: "users.delete.title", Data: d})
	return nil
}

// userDelete deletes the user once the confirmation page's form says so.
func (c *Console) userDelete(w http.ResponseWriter, q *request) error {
	dom, id := q.r.PathValue("org"), q.r.PathValue("id")
	if q.r.PostForm.Get("confirm") != "yes" {
		d, err := c.loadUser(q)
		if err != nil {
			return err
		}
		c.page(w, q, http.StatusUnprocessableEntity, "user_delete", view{Title: "users.delete.title", Data: d,
			Errors: map[string]string{"confirm": "confirm the deletion"}})
		return nil
	}
	if _, err := q.svc.DeleteUser(q.ctx(), dom, id); err != nil {
		return err
	}
	return c.redirect(w, q, "/orgs/"+url.PathEscape(dom)+"/users?done=users.deleted")
}

// userResetPassword mails the user a password reset link through
// Options.PasswordResets, once the member's scoped service has found the
// user (another organization's user is a 404 before anything is sent).
func (c *Console) userResetPassword(w http.ResponseWriter, q *request) error {
	if c.resets == nil {
		return fmt.Errorf("password resets are not configured: %w", identity.ErrNotFound)
	}
	dom, id := q.r.PathValue("org"), q.r.PathValue("id")
	u, err := q.svc.GetUser(q.ctx(), dom, id)
	if err != nil {
		return err
	}
	err = c.resets.SendPasswordReset(q.ctx(), q.env, dom, u.Email, q.lang, httpx.ClientAddress(q.r))
	if errors.Is(err, identity.ErrBusy) {
		c.page(w, q, http.StatusTooManyRequests, "message", view{Title: "users.reset.busy", Message: "users.reset.busy.text"})
		return nil
	} else if err != nil {
		return err
	}
	return c.redirect(w, q, userPath(dom, id)+"?done=users.reset.sent")
}
