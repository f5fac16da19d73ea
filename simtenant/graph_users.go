package simtenant

import (
	"net/http"
	"slices"
	"strings"
)

const (
	userType             = "microsoft.graph.user"
	servicePrincipalType = "microsoft.graph.servicePrincipal"
	groupType            = "microsoft.graph.group"
)

// addGraphUserRoutes registers lookups of users, service principals and
// directory objects.
func (t *Tenant) addGraphUserRoutes() {
	t.handle(http.MethodGet, "/v1.0/users", t.listUsers)
	t.handle(http.MethodGet, "/v1.0/users/{id}", t.getUser)
	t.handle(http.MethodGet, "/v1.0/servicePrincipals/{id}", t.getServicePrincipal)
	t.handle(http.MethodGet, "/v1.0/directoryObjects/{id}", t.getDirectoryObject)
}

// userProps are the user properties the tenant can answer; the ones it does
// not model are null.
func userProps() []string {
	return []string{"id", "displayName", "userPrincipalName", "userType", "mail", "employeeId", "givenName", "surname",
		"jobTitle", "mobilePhone", "officeLocation", "preferredLanguage", "businessPhones", "accountEnabled"}
}

// userFilter is what GET /users's $filter accepts here: eq and in on the
// three keys HR files carry (Graph takes both without ConsistencyLevel;
// in takes at most 15 values).
func userFilter() filterSyntax {
	return filterSyntax{ops: []string{"eq", "in"}, props: []string{"userPrincipalName", "mail", "employeeId"}}
}

func userSpec() collectionSpec {
	return collectionSpec{name: "users", typeName: userType, props: userProps(), filter: userFilter()}
}

// prop returns one property of a user by its Graph name, "" for null.
func (u User) prop(name string) string {
	switch name {
	case "id":
		return u.ID
	case "userPrincipalName":
		return u.UserPrincipalName
	case "mail":
		return u.Mail
	case "employeeId":
		return u.EmployeeID
	}
	return ""
}

// userDefaultProps is what Graph returns for a user without $select (note:
// not userType).
func userDefaultProps() []string {
	return []string{"id", "displayName", "userPrincipalName", "mail", "givenName", "surname",
		"jobTitle", "mobilePhone", "officeLocation", "preferredLanguage", "businessPhones"}
}

func servicePrincipalProps() []string {
	return []string{"id", "appId", "displayName", "servicePrincipalType", "accountEnabled"}
}

func groupProps() []string {
	return []string{"id", "displayName", "isAssignableToRole", "securityEnabled", "mailEnabled", "groupTypes", "onPremisesSyncEnabled"}
}

func userJSON(u User, sel selection) map[string]any {
	all := map[string]any{
		"id":                u.ID,
		"displayName":       u.DisplayName,
		"userPrincipalName": u.UserPrincipalName,
		"userType":          u.UserType,
		"mail":              nullable(u.Mail),
		"employeeId":        nullable(u.EmployeeID),
		"givenName":         nil,
		"surname":           nil,
		"jobTitle":          nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"businessPhones":    []string{},
		"accountEnabled":    true,
	}
	if sel == nil {
		sel = selection{}
		for _, p := range userDefaultProps() {
			sel[p] = true
		}
	}
	return pick(all, sel)
}

func servicePrincipalJSON(sp ServicePrincipal, sel selection) map[string]any {
	return pick(map[string]any{
		"id":                   sp.ID,
		"appId":                sp.AppID,
		"displayName":          sp.DisplayName,
		"servicePrincipalType": "Application",
		"accountEnabled":       true,
	}, sel)
}

func groupJSON(g Group, sel selection) map[string]any {
	return pick(map[string]any{
		"id":                    g.ID,
		"displayName":           g.DisplayName,
		"isAssignableToRole":    g.IsAssignableToRole,
		"securityEnabled":       securityEnabled(g),
		"mailEnabled":           mailEnabled(g),
		"groupTypes":            groupTypes(g),
		"onPremisesSyncEnabled": onPremisesSyncEnabled(g),
	}, sel)
}

// pick keeps the selected properties (and id).
func pick(all map[string]any, sel selection) map[string]any {
	out := map[string]any{}
	for k, v := range all {
		if sel.has(k) {
			out[k] = v
		}
	}
	return out
}

// listUsers serves GET /users: filtered, sorted by id, paged with an
// absolute @odata.nextLink. Values compare case-insensitively.
func (t *Tenant) listUsers(c *call) {
	lq, err := t.parseListQuery(c, userSpec(), true)
	if err != nil {
		c.queryFailed(err)
		return
	}
	if t.cfg.EmployeeIDInRefused {
		for _, cl := range lq.filter {
			if cl.op == "in" && strings.EqualFold(cl.prop, "employeeId") {
				// The message is *unconfirmed*; the code is Graph's for
				// a filter it does not support.
				c.error(http.StatusBadRequest, "Request_UnsupportedQuery",
					"Unsupported or invalid query filter clause specified for property 'employeeId' of resource 'User'.")
				return
			}
		}
	}
	sel := lq.sel
	if sel == nil {
		sel = selection{}
		for _, p := range userDefaultProps() {
			sel[p] = true
		}
	}
	t.mu.Lock()
	ids := make([]string, 0, len(t.users))
	for id, u := range t.users {
		if lq.filter.matches(u.prop) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids, more := pageAfter(ids, lq.after, lq.size)
	body := listBody{Context: graphContext("users"), Value: []map[string]any{}}
	for _, id := range ids {
		body.Value = append(body.Value, userJSON(t.users[id], sel))
	}
	t.mu.Unlock()
	if more {
		body.NextLink = nextLink(c.r, t.skipToken(ids[len(ids)-1], lq.tokenKey))
	}
	c.ok(body)
}

// getUser serves GET /users/{id or UPN}. The UPN arrives percent-decoded; a
// guest UPN sent with a raw '#' has lost everything from the '#' on (a
// fragment never reaches a server) and finds nobody, as in Graph.
func (t *Tenant) getUser(c *call) {
	key := c.param("id")
	sel, err := parseSelect(c.r.URL.Query().Get("$select"), userProps(), userType)
	if err != nil {
		c.badRequest(err.Error())
		return
	}
	u, ok := t.User(key)
	if !ok {
		c.notFound(key)
		return
	}
	body := userJSON(u, sel)
	body["@odata.context"] = graphContext("users/$entity")
	c.ok(body)
}

// getServicePrincipal serves GET /servicePrincipals/{id}.
func (t *Tenant) getServicePrincipal(c *call) {
	id := c.param("id")
	sel, err := parseSelect(c.r.URL.Query().Get("$select"), appServicePrincipalProps(), servicePrincipalType)
	if err != nil {
		c.badRequest(err.Error())
		return
	}
	sp, ok := t.ServicePrincipal(id)
	if !ok {
		c.notFound(id)
		return
	}
	body := servicePrincipalJSON(sp, sel)
	if sel.has("appRoles") {
		t.mu.Lock()
		body["appRoles"] = t.appRolesJSONLocked(strings.ToLower(sp.ID))
		t.mu.Unlock()
	}
	body["@odata.context"] = graphContext("servicePrincipals/$entity")
	c.ok(body)
}

// getDirectoryObject serves GET /directoryObjects/{id}: any kind of
// object, told apart by @odata.type.
func (t *Tenant) getDirectoryObject(c *call) {
	id := c.param("id")
	var known []string
	for _, list := range [][]string{userProps(), servicePrincipalProps(), groupProps()} {
		known = append(known, list...)
	}
	sel, err := parseSelect(c.r.URL.Query().Get("$select"), known, "microsoft.graph.directoryObject")
	if err != nil {
		c.badRequest(err.Error())
		return
	}
	t.mu.Lock()
	body, ok := t.directoryObjectLocked(id, sel)
	t.mu.Unlock()
	if !ok {
		c.notFound(id)
		return
	}
	body["@odata.context"] = graphContext("directoryObjects/$entity")
	c.ok(body)
}

// directoryObjectLocked renders the object with an id, whatever its kind.
// Users are found by object id only, as /directoryObjects does.
func (t *Tenant) directoryObjectLocked(id string, sel selection) (map[string]any, bool) {
	key := strings.ToLower(id)
	var out map[string]any
	var kind string
	if u, ok := t.users[key]; ok {
		out, kind = userJSON(u, sel), userType
	} else if sp, ok := t.sps[key]; ok {
		out, kind = servicePrincipalJSON(sp, sel), servicePrincipalType
	} else if g, ok := t.groups[key]; ok {
		out, kind = groupJSON(g, sel), groupType
	} else {
		return nil, false
	}
	out["@odata.type"] = "#" + kind
	return out, true
}
