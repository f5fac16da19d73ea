package simtenant

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// armSubscriptionJSON is a subscription as api-version 2022-12-01 writes
// it.
type armSubscriptionJSON struct {
	ID                   string                  `json:"id"`
	AuthorizationSource  string                  `json:"authorizationSource"`
	ManagedByTenants     []any                   `json:"managedByTenants"`
	SubscriptionID       string                  `json:"subscriptionId"`
	TenantID             string                  `json:"tenantId"`
	DisplayName          string                  `json:"displayName"`
	State                string                  `json:"state"`
	SubscriptionPolicies armSubscriptionPolicies `json:"subscriptionPolicies"`
}

type armSubscriptionPolicies struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

func (t *Tenant) subscriptionJSON(s ARMSubscription) armSubscriptionJSON {
	return armSubscriptionJSON{
		ID:                  s.Scope(),
		AuthorizationSource: "RoleBased",
		ManagedByTenants:    []any{},
		SubscriptionID:      s.ID,
		TenantID:            t.tenantID,
		DisplayName:         s.DisplayName,
		State:               s.State,
		SubscriptionPolicies: armSubscriptionPolicies{
			LocationPlacementID: "Public_2014-09-01",
			QuotaID:             "PayAsYouGo_2014-09-01",
			SpendingLimit:       "Off",
		},
	}
}

// listARMSubscriptions serves GET /subscriptions: every subscription of
// the tenant (the caller is taken to have access to all), sorted by id,
// paged with an absolute nextLink.
func (t *Tenant) listARMSubscriptions(c *call) {
	q, ok := c.armQuery(armSubscriptionVersions())
	if !ok {
		return
	}
	const bind = "arm-subscriptions"
	after, ok := t.armSkipToken(c, q, bind)
	if !ok {
		return
	}
	t.mu.Lock()
	page, more := pageAfter(slices.Sorted(maps.Keys(t.arm.subs)), after, t.arm.cfg.PageSize)
	body := armList{Value: []any{}}
	for _, k := range page {
		body.Value = append(body.Value, t.subscriptionJSON(t.arm.subs[k]))
	}
	t.mu.Unlock()
	if more {
		body.NextLink = armNextLink(c.r, t.skipToken(page[len(page)-1], bind))
	}
	c.armJSON(http.StatusOK, body)
}

// getARMSubscription serves GET /subscriptions/{id}.
func (t *Tenant) getARMSubscription(c *call) {
	if _, ok := c.armQuery(armSubscriptionVersions()); !ok {
		return
	}
	id := c.param("subscription")
	t.mu.Lock()
	s, found := t.arm.subs[strings.ToLower(id)]
	t.mu.Unlock()
	if !found {
		c.armError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+id+"' could not be found.")
		return
	}
	c.armJSON(http.StatusOK, t.subscriptionJSON(s))
}
