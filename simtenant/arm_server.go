package simtenant

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ARM answers JSON with this content type.
const armContentType = "application/json; charset=utf-8"

// API versions each ARM endpoint accepts. They all get the same JSON
// shapes (those of the first, the version the job uses); older versions'
// differences are not modelled.
func armRoleAssignmentVersions() []string {
	return []string{"2022-04-01", "2022-01-01-preview", "2021-04-01-preview", "2020-10-01-preview",
		"2020-08-01-preview", "2020-04-01-preview", "2020-03-01-preview", "2018-09-01-preview",
		"2018-01-01-preview", "2015-07-01"}
}

func armEligibilityVersions() []string {
	return []string{"2020-10-01", "2020-10-01-preview", "2022-04-01-preview", "2024-02-01-preview", "2024-09-01-preview"}
}

func armSubscriptionVersions() []string {
	return []string{"2022-12-01", "2022-01-01", "2021-01-01", "2020-01-01", "2019-11-01", "2019-06-01", "2016-06-01"}
}

// armScopePatterns are the route prefixes of the scopes ARM endpoints sit
// under: the root, a management group, a subscription, a resource group, a
// resource and a child resource.
func armScopePatterns() []string {
	return []string{
		"",
		"/providers/Microsoft.Management/managementGroups/{managementGroup}",
		"/subscriptions/{subscription}",
		"/subscriptions/{subscription}/resourceGroups/{resourceGroup}",
		"/subscriptions/{subscription}/resourceGroups/{resourceGroup}/providers/{namespace}/{type}/{resource}",
		"/subscriptions/{subscription}/resourceGroups/{resourceGroup}/providers/{namespace}/{type}/{resource}/{childType}/{child}",
	}
}

// addARMRoutes registers the ARM endpoints.
func (t *Tenant) addARMRoutes() {
	t.handle(http.MethodGet, "/subscriptions", t.listARMSubscriptions)
	t.handle(http.MethodGet, "/subscriptions/{subscription}", t.getARMSubscription)
	for _, scope := range armScopePatterns() {
		t.handle(http.MethodGet, scope+armRoleAssignments, t.listARMRoleAssignments)
		t.handle(http.MethodGet, scope+armRoleAssignments+"/{name}", t.getARMRoleAssignment)
		t.handle(http.MethodPut, scope+armRoleAssignments+"/{name}", t.putARMRoleAssignment)
		t.handle(http.MethodDelete, scope+armRoleAssignments+"/{name}", t.deleteARMRoleAssignment)
		t.handle(http.MethodGet, scope+armEligibilities, t.listARMEligibilities)
		t.handle(http.MethodPut, scope+armEligibilityRequest+"/{name}", t.putARMEligibilityRequest)
		t.handle(http.MethodGet, scope+armRoleDefinitions+"/{name}", t.getARMRoleDefinition)
		t.handle(http.MethodPut, scope+armAssignmentRequest+"/{name}", t.putARMAssignmentRequest)
	}
	t.handle(http.MethodGet, armManagementGroups+"{managementGroup}/descendants", t.listARMDescendants)
	t.addKeyVaultRoutes()
}

// isARMPath tells ARM requests from Graph's (which are all under a version
// segment such as /v1.0): ARM paths start with /subscriptions or
// /providers.
func isARMPath(path string) bool {
	first, _, _ := strings.Cut(strings.TrimLeft(path, "/"), "/")
	return strings.EqualFold(first, "subscriptions") || strings.EqualFold(first, "providers")
}

// armErrorBody is ARM's error shape: {"error":{"code":...,"message":...}}.
type armErrorBody struct {
	Error armErrorDetail `json:"error"`
}

type armErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// armError answers an ARM error.
func (c *call) armError(status int, code, message string) {
	c.writeJSON(status, armContentType, armErrorBody{Error: armErrorDetail{Code: code, Message: message}})
}

// armJSON answers status with an ARM JSON body.
func (c *call) armJSON(status int, v any) { c.writeJSON(status, armContentType, v) }

// authenticateARM checks the bearer token of an ARM request: the tenant's
// one token (Token) is accepted for ARM as for Graph, so a client given one
// static token can use both. It also sets the ids every ARM answer carries.
func (t *Tenant) authenticateARM(c *call) bool {
	h := c.w.Header()
	h.Set("x-ms-request-id", c.requestID)
	h.Set("x-ms-correlation-request-id", cmp.Or(c.r.Header.Get("x-ms-correlation-request-id"), c.requestID))
	if id := c.r.Header.Get("x-ms-client-request-id"); id != "" {
		h.Set("x-ms-client-request-id", id)
	}
	header := c.r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(header, " ")
	if strings.EqualFold(scheme, "Bearer") && token == t.token {
		return true
	}
	code, message := "InvalidAuthenticationToken", "The access token is invalid."
	description := "The access token is invalid."
	if strings.TrimSpace(header) == "" {
		code, message = "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
		description = "The authentication failed because of missing 'Authorization' header."
	}
	h.Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/`+t.tenantID+
		`", error="invalid_token", error_description="`+description+`"`)
	c.armError(http.StatusUnauthorized, code, message)
	return false
}

// armNoRoute answers an ARM path no route serves: 405 for a known path
// with another method, else 400 without api-version, else 404
// InvalidResourceType.
func (t *Tenant) armNoRoute(c *call, allowed []string) {
	if len(allowed) > 0 {
		slices.Sort(allowed)
		c.w.Header().Set("Allow", strings.Join(slices.Compact(allowed), ", "))
		c.armError(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested resource does not support http method '"+c.r.Method+"'.")
		return
	}
	version := c.r.URL.Query().Get("api-version")
	if version == "" {
		c.armMissingVersion()
		return
	}
	_, last := cutLastSegment(c.r.URL.Path)
	c.armError(http.StatusNotFound, "InvalidResourceType",
		"The resource type '"+last+"' could not be found for api version '"+version+"'.")
}

func cutLastSegment(path string) (string, string) {
	before, after, _ := cutLast(strings.TrimSuffix(path, "/"), "/")
	return before, after
}

func (c *call) armMissingVersion() {
	c.armError(http.StatusBadRequest, "MissingApiVersionParameter",
		"The api-version query parameter (?api-version=) is required for all requests.")
}

// armQuery reads the query and checks its api-version against the ones
// the endpoint supports; false means the request was answered.
func (c *call) armQuery(versions []string) (url.Values, bool) {
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		c.armError(http.StatusBadRequest, "InvalidQueryString", "The query string of the request is malformed.")
		return nil, false
	}
	version := q.Get("api-version")
	switch {
	case version == "":
		c.armMissingVersion()
		return nil, false
	case !slices.Contains(versions, version):
		c.armError(http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '"+version+"' is invalid. The supported versions are '"+strings.Join(versions, ",")+"'.")
		return nil, false
	}
	return q, true
}

// armBegin does what every endpoint under a scope does first: read the
// query, check the api-version, and check that the scope (the path before
// /providers/Microsoft.Authorization/) exists. false means answered.
func (t *Tenant) armBegin(c *call, versions []string) (url.Values, armScope, bool) {
	q, ok := c.armQuery(versions)
	if !ok {
		return nil, armScope{}, false
	}
	path := c.r.URL.Path
	scope := armScope{} // invalid unless the path is under a scope
	if i := strings.LastIndex(strings.ToLower(path), strings.ToLower(armAuthorization)+"/"); i >= 0 {
		scope = parseARMScope(path[:i])
	}
	t.mu.Lock()
	code, message, ok := t.arm.checkScopeLocked(scope)
	t.mu.Unlock()
	if !ok {
		c.armError(http.StatusNotFound, code, message)
		return nil, armScope{}, false
	}
	return q, scope, true
}

// pageAfter picks the page of sorted keys that follows after (the key a
// listing's $skiptoken or $skipToken names; "" for the first page), for
// Graph's listings and ARM's alike.
func pageAfter(keys []string, after string, size int) (page []string, more bool) {
	start, found := slices.BinarySearch(keys, after)
	if found {
		start++
	}
	rest := keys[start:]
	if len(rest) > size {
		return rest[:size], true
	}
	return rest, false
}

// armSkipToken reads a request's $skipToken, bound to what it lists (the
// path and $filter) so a token from another listing is refused. ok is false
// when the request was answered.
func (t *Tenant) armSkipToken(c *call, q url.Values, bind string) (after string, ok bool) {
	raw := ""
	for k, v := range q {
		if strings.EqualFold(k, "$skipToken") && len(v) > 0 {
			raw = v[0]
		}
	}
	if raw == "" {
		return "", true
	}
	after, ok = t.readSkipToken(raw, bind)
	if !ok {
		c.armError(http.StatusBadRequest, "InvalidSkipToken", "The skip token '"+raw+"' is not valid.")
	}
	return after, ok
}

// armNextLink is the absolute URL of the next page: the request's URL,
// query as sent, with its $skipToken replaced. ARM names it nextLink (not
// @odata.nextLink); clients follow it as given.
func armNextLink(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var parts []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); part == "" || err == nil && strings.EqualFold(k, "$skipToken") {
			continue
		}
		parts = append(parts, part)
	}
	parts = append(parts, "$skipToken="+url.QueryEscape(token))
	return scheme + "://" + r.Host + r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}

// armList is one page of an ARM collection.
type armList struct {
	Value    []any  `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// armAnswer is an answer worked out under the tenant's lock and written
// after it is released: an error (code and message) or a body.
type armAnswer struct {
	status        int
	code, message string
	body          any
}

func (c *call) armAnswer(a armAnswer) {
	if a.code != "" {
		c.armError(a.status, a.code, a.message)
		return
	}
	c.armJSON(a.status, a.body)
}

// armBadContent answers a body that is not JSON or lacks properties.
func (c *call) armBadContent(err error) {
	msg := "the properties object is required"
	if err != nil {
		msg = err.Error()
	}
	c.armError(http.StatusBadRequest, "InvalidRequestContent",
		"The request content was invalid and could not be deserialized: "+msg+".")
}

// armBadPrincipal answers a principalId that is not a GUID.
func (c *call) armBadPrincipal(id string) {
	c.armError(http.StatusBadRequest, "InvalidPrincipalId",
		"The principal ID '"+id+"' is not valid. Principal ID must be a GUID.")
}

// armRoleLocked returns the lower-case GUID of a role definition id the
// tenant knows.
func (t *Tenant) armRoleLocked(roleDefinitionID string) (string, bool) {
	role, ok := roleGUID(roleDefinitionID)
	if _, known := t.arm.roles[role]; !ok || !known {
		return "", false
	}
	return role, true
}

// armRoleMissing is ARM's answer for a role definition that does not exist.
func armRoleMissing(roleDefinitionID string) armAnswer {
	_, last := cutLastSegment(roleDefinitionID)
	return armAnswer{status: http.StatusBadRequest, code: "RoleDefinitionDoesNotExist",
		message: "The specified role definition with ID '" + last + "' does not exist."}
}
