package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/identity"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// BasePath is where the API lives; Handler also serves paths relative to
// it (when mounted with http.StripPrefix).
const BasePath = "/api/1"

// JavaClientBasePath is the base path Crafter's Java client uses by
// default (crafter.profile.rest.client.url ends in /crafter-profile);
// Handler serves it like BasePath.
const JavaClientBasePath = "/crafter-profile" + BasePath

// Intercept returns a handler that serves every path under BasePath and
// JavaClientBasePath with s.Handler() and passes any other request to
// next. Mount it in front of an http.ServeMux: the mux would answer a
// path such as /api/1/profile//attributes with a redirect to its cleaned
// form, where this API answers its own JSON error.
func (s *Service) Intercept(next http.Handler) http.Handler {
	h := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if underBase(r.URL.EscapedPath()) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Listener wraps l, the listener an http.Server serves the API from, so
// that a request under BasePath or JavaClientBasePath whose target
// net/http refuses before any handler runs (a malformed escape such as
// "%zz" in the path, which net/http answers with a plain-text 400) gets
// this API's JSON 400 instead (MalformedTarget). Other requests are not
// touched. Wrap after any TLS layer.
func Listener(l net.Listener) net.Listener { return httpx.AnswerMalformedTargets(l, MalformedTarget) }

// MalformedTarget is the answer to a request line whose target does not
// parse: for a target under one of the base paths, 400 with the error
// JSON; any other is left to the caller (ok=false).
func MalformedTarget(target string) (status int, contentType string, body []byte, ok bool) {
	if i := strings.Index(target, "://"); i >= 0 { // absolute form
		rest := target[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			target = rest[j:]
		}
	}
	path, _, _ := strings.Cut(target, "?")
	if !underBase(path) {
		return 0, "", nil, false
	}
	body, err := json.Marshal(badRequest("Malformed path"))
	if err != nil {
		return 0, "", nil, false
	}
	return http.StatusBadRequest, "application/json;charset=UTF-8", body, true
}

// underBase tells whether the escaped path p is under one of the base
// paths.
func underBase(p string) bool {
	for _, b := range []string{BasePath, JavaClientBasePath} {
		if p == b || strings.HasPrefix(p, b+"/") {
			return true
		}
	}
	return false
}

// maxBody bounds JSON and form bodies (attachments have their own limit).
const maxBody = 1 << 20

// NewHandler returns the http.Handler of the Crafter Profile API for
// opts, serving every path under /api/1 (mount it at "/api/1/"). Its mail
// workers live as long as the process; use New and Service.Close to stop
// them.
func NewHandler(opts Options) (http.Handler, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	return s.Handler(), nil
}

// Handler returns the http.Handler serving s under /api/1, with and
// without the .json suffix, parameters from the query string and the form
// body alike.
// A panic is logged and answered with a Crafter 500 (recovery is the
// last line: no input may produce one).
func (s *Service) Handler() http.Handler {
	h := &handler{s: s}
	return httpx.Recover(s.log, "profile: panic serving request", h, writeInternalError)
}

// writeInternalError is the answer to a request whose handler panicked.
func writeInternalError(w http.ResponseWriter, _ *http.Request) {
	writeError(w, &Error{Status: http.StatusInternalServerError, Code: CodeOther,
		Message: "Internal error while processing the request"})
}

type handler struct{ s *Service }

type bodyKind int

const (
	formBody bodyKind = iota
	jsonBody
	multipartBody
)

// call is one request as a route sees it.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	c    *identity.Credential
	args []string
	p    params
	body []byte
}

type route struct {
	method  string
	pattern []string
	body    bodyKind
	public  bool // no access token (monitoring)
	fn      func(h *handler, k *call) (any, error)
}

// empty is a 200 answer with an empty body.
type empty struct{}

// raw is a binary answer.
type raw struct {
	body        io.ReadCloser // streamed, then closed
	size        int64
	contentType string
	name        string
}

func rt(method, pattern string, body bodyKind, fn func(h *handler, k *call) (any, error)) route {
	return route{method: method, pattern: strings.Split(pattern, "/"), body: body, fn: fn}
}

// routes lists literal paths before the variable ones they would shadow.
var routes = []route{
	// access tokens
	rt("POST", "access_token/create", jsonBody, (*handler).createToken),
	rt("GET", "access_token/all", formBody, (*handler).allTokens),
	rt("GET", "access_token/*", formBody, (*handler).getToken),
	rt("POST", "access_token/*/delete", formBody, (*handler).deleteToken),
	// tenants
	rt("POST", "tenant/create", jsonBody, (*handler).createTenant),
	rt("POST", "tenant/update", jsonBody, (*handler).updateTenant),
	rt("GET", "tenant/count", formBody, (*handler).countTenants),
	rt("GET", "tenant/all", formBody, (*handler).allTenants),
	rt("GET", "tenant/*", formBody, (*handler).getTenant),
	rt("POST", "tenant/*/delete", formBody, (*handler).deleteTenant),
	rt("POST", "tenant/*/verify_new_profiles", formBody, (*handler).verifyNewProfiles),
	rt("POST", "tenant/*/roles/add", formBody, (*handler).tenantRolesAdd),
	rt("POST", "tenant/*/roles/remove", formBody, (*handler).tenantRolesRemove),
	rt("POST", "tenant/*/attribute_definitions/add", jsonBody, (*handler).defsAdd),
	rt("POST", "tenant/*/attribute_definitions/update", jsonBody, (*handler).defsUpdate),
	rt("POST", "tenant/*/attribute_definitions/remove", formBody, (*handler).defsRemove),
	// profiles: literal paths first
	rt("POST", "profile/create", formBody, (*handler).createProfile),
	rt("POST", "profile/verify", formBody, (*handler).verifyProfile),
	rt("POST", "profile/change_password", formBody, (*handler).changePassword),
	rt("GET", "profile/one_by_query", formBody, (*handler).oneByQuery),
	rt("GET", "profile/by_username", formBody, (*handler).byUsername),
	rt("GET", "profile/by_ticket", formBody, (*handler).byTicket),
	rt("GET", "profile/count", formBody, (*handler).countProfiles),
	rt("GET", "profile/count_by_query", formBody, (*handler).countByQuery),
	rt("GET", "profile/by_query", formBody, (*handler).byQuery),
	rt("GET", "profile/by_ids", formBody, (*handler).byIDs),
	rt("GET", "profile/range", formBody, (*handler).rangeProfiles),
	rt("GET", "profile/by_role", formBody, (*handler).byRole),
	rt("GET", "profile/by_existing_attribute", formBody, (*handler).byExistingAttribute),
	rt("GET", "profile/by_attribute_value", formBody, (*handler).byAttributeValue),
	rt("GET", "profile/verification_token/*", formBody, (*handler).getVToken),
	rt("POST", "profile/verification_token/*/delete", formBody, (*handler).deleteVToken),
	rt("GET", "profile/*", formBody, (*handler).getProfile),
	rt("POST", "profile/*/update", formBody, (*handler).updateProfile),
	rt("POST", "profile/*/enable", formBody, (*handler).enableProfile),
	rt("POST", "profile/*/disable", formBody, (*handler).disableProfile),
	rt("POST", "profile/*/roles/add", formBody, (*handler).profileRolesAdd),
	rt("POST", "profile/*/roles/remove", formBody, (*handler).profileRolesRemove),
	rt("GET", "profile/*/attributes", formBody, (*handler).getAttributes),
	rt("POST", "profile/*/attributes/update", jsonBody, (*handler).updateAttributes),
	rt("POST", "profile/*/attributes/remove", formBody, (*handler).removeAttributes),
	rt("POST", "profile/*/delete", formBody, (*handler).deleteProfile),
	rt("POST", "profile/*/verification_token/create", formBody, (*handler).createVToken),
	rt("POST", "profile/*/reset_password", formBody, (*handler).resetPassword),
	rt("POST", "profile/*/uploadAttachment", multipartBody, (*handler).uploadAttachment),
	rt("GET", "profile/*/attachments", formBody, (*handler).listAttachments),
	rt("GET", "profile/*/attachment/*/details", formBody, (*handler).attachmentDetails),
	rt("GET", "profile/*/attachment/*", formBody, (*handler).downloadAttachment),
	// authentication
	rt("POST", "authentication/authenticate", formBody, (*handler).authenticate),
	rt("POST", "authentication/ticket/create", formBody, (*handler).createTicket),
	rt("GET", "authentication/ticket/*", formBody, (*handler).getTicket),
	rt("POST", "authentication/ticket/*/invalidate", formBody, (*handler).invalidateTicket),
	rt("POST", "authentication/persistent_login/create", formBody, (*handler).createLogin),
	rt("GET", "authentication/persistent_login/*", formBody, (*handler).getLogin),
	rt("POST", "authentication/persistent_login/*/refresh_token", formBody, (*handler).refreshLogin),
	rt("POST", "authentication/persistent_login/*/delete", formBody, (*handler).deleteLogin),
	// monitoring
	{method: "GET", pattern: []string{"monitoring", "memory"}, public: true, fn: (*handler).memory},
	{method: "GET", pattern: []string{"monitoring", "status"}, public: true, fn: (*handler).status},
	{method: "GET", pattern: []string{"monitoring", "version"}, public: true, fn: (*handler).version},
}

// match finds the route of segs: the first pattern that matches wins;
// methodOK is false when some pattern matched the path but not the method.
func match(method string, segs []string) (rt *route, args []string, pathOK bool) {
	for i := range routes {
		r := &routes[i]
		if len(r.pattern) != len(segs) {
			continue
		}
		var a []string
		ok := true
		for j, p := range r.pattern {
			if p == "*" {
				if segs[j] == "" {
					ok = false
					break
				}
				a = append(a, segs[j])
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathOK = true
		if r.method == method || (method == http.MethodHead && r.method == http.MethodGet) {
			return r, a, true
		}
	}
	return nil, nil, pathOK
}

// allowedMethods lists the methods served for a path, for the Allow
// header of a 405 (HEAD with GET, as GET routes answer HEAD).
func allowedMethods(segs []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(m string) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if rt, _, _ := match(m, segs); rt != nil {
			add(m)
			if m == http.MethodGet {
				add(http.MethodHead)
			}
		}
	}
	return out
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	out, err := h.serve(w, r)
	if err != nil {
		e := ErrorOf(err)
		if e.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		if e.Status >= 500 {
			h.s.log.Error("profile: request failed", "path", httpx.LoggedPath(r), "err", err)
		}
		writeError(w, e)
		return
	}
	switch v := out.(type) {
	case empty:
		w.WriteHeader(http.StatusOK)
	case *raw:
		if v == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		defer v.body.Close()
		hd := w.Header()
		hd.Set("Content-Type", v.contentType)
		hd.Set("Content-Length", strconv.FormatInt(v.size, 10))
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		disp := "inline"
		if v.contentType == "image/svg+xml" {
			// An SVG opened from our origin could run script: make the
			// browser download it instead.
			disp = "attachment"
		}
		hd.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": v.name}))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			if _, err := io.Copy(w, v.body); err != nil {
				// The status is sent: the client sees a body shorter than
				// its Content-Length.
				h.s.log.Warn("profile: streaming an attachment", "path", httpx.LoggedPath(r), "err", err)
			}
		}
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// ExtensionsParam is the query (or form) parameter with which a caller
// asks for Gatehouse's extensions in Crafter-shaped answers
// (gatehouseExtensions=true): today the "indexed" flag of attribute
// definitions. Without it answers carry Crafter's fields only, since
// Crafter's Java client refuses unknown properties.
const ExtensionsParam = "gatehouseExtensions"

// wantsExtensions tells whether the parameters ask for Gatehouse's
// extensions.
func (p params) wantsExtensions() bool {
	b, err := parseBool(ExtensionsParam, p.get(ExtensionsParam))
	return err == nil && b
}

// withoutExtensions returns v without Gatehouse's extensions: the
// attribute definitions of tenants lose their indexed flag (copies; v is
// not changed).
func withoutExtensions(v any) any {
	plain := func(t Tenant) Tenant {
		defs := make([]AttributeDefinition, len(t.AttributeDefinitions))
		for i, d := range t.AttributeDefinitions {
			d.Indexed = false
			defs[i] = d
		}
		t.AttributeDefinitions = defs
		return t
	}
	switch x := v.(type) {
	case *Tenant:
		if x != nil {
			t := plain(*x)
			return &t
		}
	case []Tenant:
		out := make([]Tenant, len(x))
		for i, t := range x {
			out[i] = plain(t)
		}
		return out
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errorCode":"OTHER","message":"Internal error while encoding the response"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, e)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	p := r.URL.EscapedPath()
	for _, b := range []string{BasePath, JavaClientBasePath} {
		if p == b || strings.HasPrefix(p, b+"/") {
			p = p[len(b):]
			break
		}
	}
	p = strings.TrimSuffix(p, ".json")
	p = strings.Trim(p, "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, badRequest("Malformed path")
		}
		segs[i] = u
	}
	rt, args, pathOK := match(r.Method, segs)
	if rt == nil {
		if pathOK {
			w.Header().Set("Allow", strings.Join(allowedMethods(segs), ", "))
			return nil, apiErr(http.StatusMethodNotAllowed, CodeOther, "Request method '%s' is not supported", r.Method)
		}
		return nil, apiErr(http.StatusNotFound, CodeOther, "No handler found for %s %s", r.Method, r.URL.Path)
	}
	k := &call{w: w, r: r, args: args}
	if err := k.parse(rt.body, h.s.opts.MaxAttachmentBytes); err != nil {
		return nil, err
	}
	if !rt.public {
		c, err := h.s.Authorize(r.Context(), k.p.get("accessTokenId"))
		if err != nil {
			return nil, err
		}
		k.c = c
		// Every write of the call names the token as its actor.
		k.r = r.WithContext(identity.WithActorOf(r.Context(), identity.AccessTokenActor(c)))
	}
	out, err := rt.fn(h, k)
	if err == nil && !k.p.wantsExtensions() {
		out = withoutExtensions(out)
	}
	return out, err
}

// parse reads the parameters (query string plus form fields) and, for
// JSON routes, the body.
func (k *call) parse(kind bodyKind, maxUpload int64) error {
	r := k.r
	q, err := parseParams(r.URL.RawQuery)
	if err != nil {
		return badRequest("Malformed query string")
	}
	k.p = params{v: q}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch kind {
	case jsonBody:
		b, err := io.ReadAll(httpx.LimitBody(k.w, r, maxBody))
		if err != nil {
			return apiErr(http.StatusRequestEntityTooLarge, CodeOther, "Request body is larger than %d bytes", maxBody)
		}
		if (ctype == "application/x-www-form-urlencoded" || ctype == "multipart/form-data") && !json.Valid(b) {
			// A form where the endpoint reads JSON (JSON sent under a
			// form label, as curl -d sends it, is still read).
			return apiErr(http.StatusUnsupportedMediaType, CodeOther,
				"Content type '%s' not supported; send a JSON body as application/json", ctype)
		}
		k.body = b
	case multipartBody:
		if ctype != "multipart/form-data" {
			return apiErr(http.StatusUnsupportedMediaType, CodeOther, "Content type '%s' not supported; send multipart/form-data", ctype)
		}
		r.Body = httpx.LimitBody(k.w, r, maxUpload+64<<10)
		// The query string is parsed above (parseParams): a non-nil Form
		// keeps net/http from parsing it again and refusing a raw ';'.
		r.Form = url.Values{}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return apiErr(http.StatusRequestEntityTooLarge, CodeOther, "Attachment is larger than %d bytes", maxUpload)
			}
			return badRequest("Malformed multipart body")
		}
		for key, vals := range r.MultipartForm.Value {
			k.p.v[key] = append(k.p.v[key], vals...)
		}
	default:
		if ctype == "application/x-www-form-urlencoded" {
			b, err := io.ReadAll(httpx.LimitBody(k.w, r, maxBody))
			if err != nil {
				return apiErr(http.StatusRequestEntityTooLarge, CodeOther, "Request body is larger than %d bytes", maxBody)
			}
			f, err := parseParams(string(b))
			if err != nil {
				return badRequest("Malformed form body")
			}
			for key, vals := range f {
				k.p.v[key] = append(k.p.v[key], vals...)
			}
		}
	}
	return nil
}

// parseParams parses a query string or form body as Crafter's servlet
// container does: pairs are separated by '&' only, so a raw ';' (which
// Crafter's Java client does not encode, and net/url refuses since Go
// 1.17) is a literal part of a name or value. A malformed escape is an
// error.
func parseParams(s string) (url.Values, error) {
	v := url.Values{}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		key, val, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(key)
		if err != nil {
			return nil, err
		}
		x, err := url.QueryUnescape(val)
		if err != nil {
			return nil, err
		}
		v[k] = append(v[k], x)
	}
	return v, nil
}

// params are the merged query and form parameters.
type params struct{ v url.Values }

func (p params) has(k string) bool { _, ok := p.v[k]; return ok }

func (p params) get(k string) string {
	if vs := p.v[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (p params) required(k string) (string, error) {
	v := p.get(k)
	if v == "" {
		return "", missingParam(k)
	}
	return v, nil
}

// present is a required parameter that may be sent empty (a String
// @RequestParam in Crafter's controllers): only its absence is 400.
func (p params) present(k string) (string, error) {
	if !p.has(k) {
		return "", missingParam(k)
	}
	return p.get(k), nil
}

// requiredAll returns the values of several required parameters, in order;
// the first missing one is the error.
func (p params) requiredAll(keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		v, err := p.required(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// list returns a multi-valued parameter: repeated keys and/or values
// separated by commas. Empty items are dropped.
func (p params) list(keys ...string) []string {
	var out []string
	for _, k := range keys {
		for _, v := range p.v[k] {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					out = append(out, item)
				}
			}
		}
	}
	return out
}

// requiredList is a required multi-valued parameter k, also read under
// the aliases the 4.5 document uses for it (roles, attributesName).
func (p params) requiredList(k string, aliases ...string) ([]string, error) {
	l := p.list(append([]string{k}, aliases...)...)
	if len(l) == 0 {
		return nil, missingParam(k)
	}
	return l, nil
}

// attrs is the attribute projection (attributeToReturn, or the documented
// attributesToReturn).
func (p params) attrs() []string { return p.list("attributeToReturn", "attributesToReturn") }

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, badRequest("Failed to convert value of parameter '%s' to boolean: %q", name, v)
}

func (p params) sort(paged bool) (Sort, error) {
	so := Sort{By: p.get("sortBy")}
	switch o := p.get("sortOrder"); {
	case o == "" || strings.EqualFold(o, "DESC"):
	case strings.EqualFold(o, "ASC"):
		so.Asc = true
	default:
		return so, badRequest("Failed to convert value of parameter 'sortOrder' to SortOrder: %q", o)
	}
	if len(so.By) > 255 {
		return so, badRequest("Parameter 'sortBy' is too long")
	}
	if !paged {
		return so, nil
	}
	num := func(k string) (int, bool, error) {
		v := p.get(k)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, false, badRequest("Parameter '%s' must be a non-negative integer", k)
		}
		return n, true, nil
	}
	var err error
	if so.Start, so.HasStart, err = num("start"); err != nil {
		return so, err
	}
	if so.Count, so.HasCount, err = num("count"); err != nil {
		return so, err
	}
	return so, nil
}

// decodeJSON decodes a JSON body into v. Numbers inside any values
// (attributes, default values, metadata) are kept as json.Number, the
// text the client sent, and are stored and answered as such.
func decodeJSON(b []byte, v any) error {
	if string(bytes.TrimSpace(b)) == "null" {
		// Spring's required body: null is no tenant, token or list.
		return badRequest("Malformed JSON body: the body must not be null")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badRequest("Malformed JSON body: %s", jsonErrText(err))
	}
	if dec.More() {
		return badRequest("Malformed JSON body: trailing data")
	}
	return nil
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		want := jsonKind(te.Type)
		if bits := intBits(te.Type); bits > 0 && strings.HasPrefix(te.Value, "number") {
			// A number that is not an integer of that size (1.5, 1e30).
			want = fmt.Sprintf("an integer of at most %d bits", bits)
		}
		if te.Field == "" {
			return "the body must be " + want
		}
		return fmt.Sprintf("field %q must be %s", te.Field, want)
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "cannot decode"
}

// jsonKind names, in the client's terms, the JSON value a Go type
// decodes from: the answer never shows the server's type names.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another JSON value"
}

// intBits is the size of an integer type, 0 for any other.
func intBits(t reflect.Type) int {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t.Bits()
	}
	return 0
}

// attributesParam decodes the JSON-encoded attributes form parameter.
func attributesParam(p params) (map[string]any, error) {
	s := p.get("attributes")
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, apiErr(http.StatusBadRequest, CodeParamDeserialization,
			"Unable to deserialize parameter 'attributes' as a JSON object")
	}
	return m, nil
}

// ---- access tokens ----

func (h *handler) createToken(k *call) (any, error) {
	var in AccessToken
	if err := decodeJSON(k.body, &in); err != nil {
		return nil, err
	}
	return h.s.CreateAccessToken(k.r.Context(), k.c, in)
}

func (h *handler) allTokens(k *call) (any, error) { return h.s.AllAccessTokens(k.r.Context(), k.c) }
func (h *handler) getToken(k *call) (any, error) {
	return h.s.GetAccessToken(k.r.Context(), k.c, k.args[0])
}
func (h *handler) deleteToken(k *call) (any, error) {
	return empty{}, h.s.DeleteAccessToken(k.r.Context(), k.c, k.args[0])
}

// ---- tenants ----

func (h *handler) createTenant(k *call) (any, error) {
	var in TenantInput
	if err := decodeJSON(k.body, &in); err != nil {
		return nil, err
	}
	return h.s.CreateTenant(k.r.Context(), k.c, in)
}

func (h *handler) updateTenant(k *call) (any, error) {
	var in TenantInput
	if err := decodeJSON(k.body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, badRequest("Tenant name is required")
	}
	return h.s.UpdateTenant(k.r.Context(), k.c, in)
}

func (h *handler) countTenants(k *call) (any, error) { return h.s.CountTenants(k.r.Context(), k.c) }
func (h *handler) allTenants(k *call) (any, error)   { return h.s.AllTenants(k.r.Context(), k.c) }
func (h *handler) getTenant(k *call) (any, error) {
	return h.s.GetTenant(k.r.Context(), k.c, k.args[0])
}
func (h *handler) deleteTenant(k *call) (any, error) {
	return empty{}, h.s.DeleteTenant(k.r.Context(), k.c, k.args[0])
}

func (h *handler) verifyNewProfiles(k *call) (any, error) {
	v, err := k.p.required("verify")
	if err != nil {
		return nil, err
	}
	b, err := parseBool("verify", v)
	if err != nil {
		return nil, err
	}
	return h.s.VerifyNewProfiles(k.r.Context(), k.c, k.args[0], b)
}

func (h *handler) tenantRolesAdd(k *call) (any, error) {
	roles, err := k.p.requiredList("role")
	if err != nil {
		return nil, err
	}
	return h.s.AddRoles(k.r.Context(), k.c, k.args[0], roles)
}

func (h *handler) tenantRolesRemove(k *call) (any, error) {
	roles, err := k.p.requiredList("role")
	if err != nil {
		return nil, err
	}
	return h.s.RemoveRoles(k.r.Context(), k.c, k.args[0], roles)
}

func (h *handler) defsAdd(k *call) (any, error) {
	var in []AttributeDefinition
	if err := decodeJSON(k.body, &in); err != nil {
		return nil, err
	}
	return h.s.AddAttributeDefinitions(k.r.Context(), k.c, k.args[0], in)
}

func (h *handler) defsUpdate(k *call) (any, error) {
	var in []AttributeDefinition
	if err := decodeJSON(k.body, &in); err != nil {
		return nil, err
	}
	return h.s.UpdateAttributeDefinitions(k.r.Context(), k.c, k.args[0], in)
}

func (h *handler) defsRemove(k *call) (any, error) {
	names, err := k.p.requiredList("attributeName")
	if err != nil {
		return nil, err
	}
	return h.s.RemoveAttributeDefinitions(k.r.Context(), k.c, k.args[0], names)
}

// ---- profiles ----

func (h *handler) createProfile(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	username, err := k.p.required("username")
	if err != nil {
		return nil, err
	}
	email, err := k.p.required("email")
	if err != nil {
		return nil, err
	}
	en, err := k.p.required("enabled")
	if err != nil {
		return nil, err
	}
	enabled, err := parseBool("enabled", en)
	if err != nil {
		return nil, err
	}
	attrs, err := attributesParam(k.p)
	if err != nil {
		return nil, err
	}
	return h.s.CreateProfile(k.r.Context(), k.c, NewProfile{Tenant: tenant, Username: username,
		Password: k.p.get("password"), Email: email, Enabled: enabled, Roles: k.p.list("role"),
		Attributes: attrs, VerificationURL: k.p.get("verificationUrl")})
}

func (h *handler) updateProfile(k *call) (any, error) {
	in := ProfileUpdate{Username: k.p.get("username"), Password: k.p.get("password"), Email: k.p.get("email")}
	if v := k.p.get("enabled"); v != "" {
		b, err := parseBool("enabled", v)
		if err != nil {
			return nil, err
		}
		in.Enabled = &b
	}
	if k.p.has("role") {
		in.SetRoles, in.Roles = true, k.p.list("role")
	}
	attrs, err := attributesParam(k.p)
	if err != nil {
		return nil, err
	}
	in.Attributes = attrs
	return h.s.UpdateProfile(k.r.Context(), k.c, k.args[0], in, k.p.attrs())
}

func (h *handler) verifyProfile(k *call) (any, error) {
	id, err := k.p.required("verificationTokenId")
	if err != nil {
		return nil, err
	}
	return h.s.VerifyProfile(k.r.Context(), k.c, id, k.p.attrs())
}

func (h *handler) enableProfile(k *call) (any, error) {
	return h.s.SetEnabled(k.r.Context(), k.c, k.args[0], true, k.p.attrs())
}

func (h *handler) disableProfile(k *call) (any, error) {
	return h.s.SetEnabled(k.r.Context(), k.c, k.args[0], false, k.p.attrs())
}

func (h *handler) profileRolesAdd(k *call) (any, error) {
	roles, err := k.p.requiredList("role", "roles")
	if err != nil {
		return nil, err
	}
	return h.s.AddProfileRoles(k.r.Context(), k.c, k.args[0], roles, k.p.attrs())
}

func (h *handler) profileRolesRemove(k *call) (any, error) {
	roles, err := k.p.requiredList("role", "roles")
	if err != nil {
		return nil, err
	}
	return h.s.RemoveProfileRoles(k.r.Context(), k.c, k.args[0], roles, k.p.attrs())
}

func (h *handler) getAttributes(k *call) (any, error) {
	return h.s.GetAttributes(k.r.Context(), k.c, k.args[0], k.p.attrs())
}

func (h *handler) updateAttributes(k *call) (any, error) {
	var in map[string]any
	if err := decodeJSON(k.body, &in); err != nil {
		return nil, err
	}
	return h.s.UpdateAttributes(k.r.Context(), k.c, k.args[0], in, k.p.attrs())
}

func (h *handler) removeAttributes(k *call) (any, error) {
	names, err := k.p.requiredList("attributeName", "attributesName")
	if err != nil {
		return nil, err
	}
	return h.s.RemoveAttributes(k.r.Context(), k.c, k.args[0], names, k.p.attrs())
}

func (h *handler) deleteProfile(k *call) (any, error) {
	return empty{}, h.s.DeleteProfile(k.r.Context(), k.c, k.args[0])
}

func (h *handler) getProfile(k *call) (any, error) {
	return h.s.GetProfile(k.r.Context(), k.c, k.args[0], k.p.attrs())
}

func (h *handler) oneByQuery(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	q, err := k.p.required("query")
	if err != nil {
		return nil, err
	}
	return h.s.OneByQuery(k.r.Context(), k.c, tenant, q, k.p.attrs())
}

func (h *handler) byUsername(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	u, err := k.p.present("username") // empty: no such profile, 404
	if err != nil {
		return nil, err
	}
	return h.s.ProfileByUsername(k.r.Context(), k.c, tenant, u, k.p.attrs())
}

func (h *handler) byTicket(k *call) (any, error) {
	t, err := k.p.required("ticketId")
	if err != nil {
		return nil, err
	}
	return h.s.ProfileByTicket(k.r.Context(), k.c, t, k.p.attrs())
}

func (h *handler) countProfiles(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	return h.s.CountProfiles(k.r.Context(), k.c, tenant)
}

func (h *handler) countByQuery(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	q, err := k.p.required("query")
	if err != nil {
		return nil, err
	}
	return h.s.CountByQuery(k.r.Context(), k.c, tenant, q)
}

func (h *handler) byQuery(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	q, err := k.p.required("query")
	if err != nil {
		return nil, err
	}
	so, err := k.p.sort(true)
	if err != nil {
		return nil, err
	}
	return h.s.ProfilesByQuery(k.r.Context(), k.c, tenant, q, so, k.p.attrs())
}

func (h *handler) byIDs(k *call) (any, error) {
	ids, err := k.p.requiredList("id")
	if err != nil {
		return nil, err
	}
	so, err := k.p.sort(false)
	if err != nil {
		return nil, err
	}
	return h.s.ProfilesByIDs(k.r.Context(), k.c, ids, so, k.p.attrs())
}

func (h *handler) rangeProfiles(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	so, err := k.p.sort(true)
	if err != nil {
		return nil, err
	}
	return h.s.Range(k.r.Context(), k.c, tenant, so, k.p.attrs())
}

func (h *handler) byRole(k *call) (any, error) {
	v, err := k.p.requiredAll("tenantName", "role")
	if err != nil {
		return nil, err
	}
	so, err := k.p.sort(false)
	if err != nil {
		return nil, err
	}
	return h.s.ProfilesByRole(k.r.Context(), k.c, v[0], v[1], so, k.p.attrs())
}

func (h *handler) byExistingAttribute(k *call) (any, error) {
	v, err := k.p.requiredAll("tenantName", "attributeName")
	if err != nil {
		return nil, err
	}
	so, err := k.p.sort(false)
	if err != nil {
		return nil, err
	}
	return h.s.ProfilesWithAttribute(k.r.Context(), k.c, v[0], v[1], so, k.p.attrs())
}

func (h *handler) byAttributeValue(k *call) (any, error) {
	v, err := k.p.requiredAll("tenantName", "attributeName")
	if err != nil {
		return nil, err
	}
	tenant, name := v[0], v[1]
	if !k.p.has("attributeValue") {
		return nil, missingParam("attributeValue")
	}
	so, err := k.p.sort(false)
	if err != nil {
		return nil, err
	}
	return h.s.ProfilesByAttributeValue(k.r.Context(), k.c, tenant, name, k.p.get("attributeValue"), so, k.p.attrs())
}

func (h *handler) createVToken(k *call) (any, error) {
	return h.s.CreateVerificationToken(k.r.Context(), k.c, k.args[0])
}

func (h *handler) getVToken(k *call) (any, error) {
	return h.s.GetVerificationToken(k.r.Context(), k.c, k.args[0])
}

func (h *handler) deleteVToken(k *call) (any, error) {
	return empty{}, h.s.DeleteVerificationToken(k.r.Context(), k.c, k.args[0])
}

func (h *handler) resetPassword(k *call) (any, error) {
	u, err := k.p.required("resetPasswordUrl")
	if err != nil {
		return nil, err
	}
	return h.s.ResetPassword(k.r.Context(), k.c, k.args[0], u, k.p.attrs())
}

func (h *handler) changePassword(k *call) (any, error) {
	t, err := k.p.required("resetTokenId")
	if err != nil {
		return nil, err
	}
	pw, err := k.p.required("newPassword")
	if err != nil {
		return nil, err
	}
	return h.s.ChangePassword(k.r.Context(), k.c, t, pw, k.p.attrs())
}

// ---- attachments ----

func (h *handler) uploadAttachment(k *call) (any, error) {
	f, fh, err := k.r.FormFile("attachment")
	if err != nil {
		return nil, missingParam("attachment")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, h.s.opts.MaxAttachmentBytes+1))
	if err != nil {
		return nil, badRequest("Cannot read the uploaded file")
	}
	name := k.p.get("filename")
	if strings.TrimSpace(name) == "" {
		name = fh.Filename
	}
	return h.s.AddAttachment(k.r.Context(), k.c, k.args[0], name, data)
}

func (h *handler) listAttachments(k *call) (any, error) {
	return h.s.Attachments(k.r.Context(), k.c, k.args[0])
}

func (h *handler) attachmentDetails(k *call) (any, error) {
	return h.s.Attachment(k.r.Context(), k.c, k.args[0], k.args[1])
}

func (h *handler) downloadAttachment(k *call) (any, error) {
	f, err := h.s.OpenAttachment(k.r.Context(), k.c, k.args[0], k.args[1])
	if err != nil {
		return nil, err
	}
	if f == nil {
		return empty{}, nil
	}
	name := f.FileName
	if name == "" {
		name = k.args[1]
	}
	return &raw{body: f, size: f.Size, contentType: f.ContentType, name: name}, nil
}

// ---- authentication ----

func (h *handler) authenticate(k *call) (any, error) {
	tenant, err := k.p.required("tenantName")
	if err != nil {
		return nil, err
	}
	// A username or password sent empty is present (Spring passes an
	// empty String parameter through, and Crafter's login form sends a
	// blank field as "password="): it is a failed login, 401, not a
	// missing parameter.
	u, err := k.p.present("username")
	if err != nil {
		return nil, err
	}
	pw, err := k.p.present("password")
	if err != nil {
		return nil, err
	}
	return h.s.Authenticate(k.r.Context(), k.c, tenant, u, pw)
}

func (h *handler) createTicket(k *call) (any, error) {
	id, err := k.p.required("profileId")
	if err != nil {
		return nil, err
	}
	return h.s.CreateTicket(k.r.Context(), k.c, id)
}

func (h *handler) getTicket(k *call) (any, error) {
	return h.s.GetTicket(k.r.Context(), k.c, k.args[0])
}
func (h *handler) invalidateTicket(k *call) (any, error) {
	return empty{}, h.s.InvalidateTicket(k.r.Context(), k.c, k.args[0])
}

func (h *handler) createLogin(k *call) (any, error) {
	id, err := k.p.required("profileId")
	if err != nil {
		return nil, err
	}
	return h.s.CreatePersistentLogin(k.r.Context(), k.c, id)
}

func (h *handler) getLogin(k *call) (any, error) {
	return h.s.GetPersistentLogin(k.r.Context(), k.c, k.args[0])
}
func (h *handler) refreshLogin(k *call) (any, error) {
	return h.s.RefreshPersistentLogin(k.r.Context(), k.c, k.args[0])
}
func (h *handler) deleteLogin(k *call) (any, error) {
	return empty{}, h.s.DeletePersistentLogin(k.r.Context(), k.c, k.args[0])
}

// ---- monitoring ----

func (h *handler) memory(k *call) (any, error) {
	if err := h.s.checkMonitoring(k.r.Context(), k.p.get("token")); err != nil {
		return nil, err
	}
	return h.s.MemoryInfo(), nil
}

func (h *handler) status(k *call) (any, error) {
	if err := h.s.checkMonitoring(k.r.Context(), k.p.get("token")); err != nil {
		return nil, err
	}
	return h.s.StatusInfo(), nil
}

func (h *handler) version(k *call) (any, error) {
	if err := h.s.checkMonitoring(k.r.Context(), k.p.get("token")); err != nil {
		return nil, err
	}
	return h.s.VersionInfo(), nil
}
