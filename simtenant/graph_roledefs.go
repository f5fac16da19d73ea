package simtenant

import (
	"net/http"
	"slices"
	"strings"
)

const roleDefinitionsPath = "/v1.0/roleManagement/directory/roleDefinitions"

// roleDefinitionSpec is what the role definition collection's query
// options accept here: $select of its plain properties, $filter with eq on
// its ids and name.
func roleDefinitionSpec() collectionSpec {
	return collectionSpec{
		name:     "roleDefinitions",
		typeName: "microsoft.graph.unifiedRoleDefinition",
		props:    []string{"id", "displayName", "templateId", "isBuiltIn", "isEnabled"},
		filter:   filterSyntax{ops: []string{"eq"}, props: []string{"id", "displayName", "templateId"}},
	}
}

// addGraphRoleDefinitionRoutes registers GET roleDefinitions, which the job
// reads once a run for the report's role names.
func (t *Tenant) addGraphRoleDefinitionRoutes() {
	t.handle(http.MethodGet, roleDefinitionsPath, t.listRoleDefinitions)
}

func (d RoleDefinition) prop(name string) string {
	switch name {
	case "id":
		return d.ID
	case "displayName":
		return d.DisplayName
	case "templateId":
		return d.TemplateID
	}
	return ""
}

// listRoleDefinitions serves GET roleDefinitions: filtered, sorted by id,
// paged with an absolute @odata.nextLink.
func (t *Tenant) listRoleDefinitions(c *call) {
	q, err := t.parseListQuery(c, roleDefinitionSpec(), true)
	if err != nil {
		c.queryFailed(err)
		return
	}
	defs := t.RoleDefinitions()
	start := slices.IndexFunc(defs, func(d RoleDefinition) bool { return strings.Compare(d.ID, q.after) > 0 })
	if start < 0 {
		start = len(defs)
	}
	body := listBody{Context: graphContext("roleManagement/directory/roleDefinitions"), Value: []map[string]any{}}
	var last string
	for _, d := range defs[start:] {
		if !q.filter.matches(d.prop) {
			continue
		}
		if len(body.Value) == q.size {
			body.NextLink = nextLink(c.r, t.skipToken(last, q.tokenKey))
			break
		}
		v := map[string]any{}
		for _, p := range roleDefinitionSpec().props {
			if !q.sel.has(p) {
				continue
			}
			switch p {
			case "isBuiltIn":
				v[p] = d.ID == d.TemplateID
			case "isEnabled":
				v[p] = true
			default:
				v[p] = d.prop(p)
			}
		}
		body.Value = append(body.Value, v)
		last = d.ID
	}
	c.ok(body)
}
