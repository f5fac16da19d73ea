package arm

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Actions the `azure` source's kinds need at a scope (arm.Kinds lists
// them all).
const (
	ActionDeleteAssignment   = "Microsoft.Authorization/roleAssignments/delete"
	ActionRequestAssignment  = "Microsoft.Authorization/roleAssignmentScheduleRequests/write"
	ActionRequestEligibility = "Microsoft.Authorization/roleEligibilityScheduleRequests/write"
)

// Rights is what an identity may do at one ARM scope, as its role
// assignments there (and above) say.
type Rights struct {
	Scope string
	// Roles are the names of the roles the identity holds there.
	Roles []string
	// Permissions are the permission blocks of those roles.
	Permissions []*armauthorization.Permission
}

// Allows reports whether one of the roles grants action: one of its
// blocks has an action matching it and no notAction matching it.
func (r Rights) Allows(action string) bool { return allows(r.Permissions, action) }

// Checker reads, and only reads, what an identity may do at the scopes
// of a configuration: `offboard check`.
//
// ARM's permissions API ({scope}/providers/Microsoft.Authorization/permissions)
// has builders in armauthorization v2 for resource groups and resources
// only (PermissionsClient.NewListForResourceGroupPager, ...ForResource);
// there is none for a subscription or a management group, the scopes the
// job cleans. So the rights are worked out from what exists there: the
// identity's role assignments at the scope (ListForScope with
// assignedTo('{id}'), which also follows its group memberships) and each
// role's definition (RoleDefinitionsClient.GetByID): an action is allowed
// when a role's actions match it and its notActions do not. Deny
// assignments are not read.
type Checker struct {
	src         *Source
	definitions *armauthorization.RoleDefinitionsClient
}

// NewChecker returns a Checker for cfg (its Scopes are the scopes
// checked; "all" means every subscription the identity can list).
func NewChecker(cfg Config) (*Checker, error) {
	src, err := New(cfg)
	if err != nil {
		return nil, err
	}
	defs, err := armauthorization.NewRoleDefinitionsClient(cfg.Credential, clientOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	return &Checker{src: src, definitions: defs}, nil
}

// Rights says, for each scope, what the identity principalID may do there.
// An error is a read that failed (an *transport.ServiceError when ARM answered: 403 means
// the identity may not even read role assignments there).
func (c *Checker) Rights(ctx context.Context, principalID string) ([]Rights, error) {
	scopes, err := c.src.resolveScopes(ctx)
	if err != nil {
		return nil, err
	}
	if !job.IsGUID(principalID) {
		return nil, fmt.Errorf("the identity's object id %q is not a GUID", principalID)
	}
	filter := strings.ReplaceAll(url.QueryEscape("assignedTo('"+principalID+"')"), "+", "%20")
	defs := map[string]*armauthorization.RoleDefinition{}
	var out []Rights
	for _, sc := range scopes {
		scope := sc.id
		r := Rights{Scope: scope}
		// One listing (transport.Listing): a page it has read, or one past
		// the cap, is refused. The role definitions are read apart.
		pager := c.src.assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter})
		lctx := transport.Listing(ctx)
		for pager.More() {
			page, err := pager.NextPage(lctx)
			if err != nil {
				return out, fmt.Errorf("listing the identity's role assignments at %s: %w", scope, classify(err))
			}
			for _, a := range page.Value {
				if a == nil || a.Properties == nil || a.Properties.RoleDefinitionID == nil {
					continue
				}
				id := *a.Properties.RoleDefinitionID
				def, ok := defs[strings.ToLower(id)]
				if !ok {
					got, err := c.definitions.GetByID(ctx, id, nil)
					if err != nil {
						return out, fmt.Errorf("reading role definition %s: %w", id, classify(err))
					}
					def = &got.RoleDefinition
					defs[strings.ToLower(id)] = def
				}
				if def.Properties == nil {
					continue
				}
				r.Roles = append(r.Roles, transport.Deref(def.Properties.RoleName))
				r.Permissions = append(r.Permissions, def.Properties.Permissions...)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// allows reports whether a role's permissions grant action: one of its
// blocks has an action matching it and no notAction matching it.
func allows(perms []*armauthorization.Permission, action string) bool {
	for _, p := range perms {
		if p == nil {
			continue
		}
		if matchesAny(p.Actions, action) && !matchesAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

// matchesAny reports whether any pattern (ARM's actions: case-insensitive,
// * matching any characters) matches action.
func matchesAny(patterns []*string, action string) bool {
	for _, p := range patterns {
		if p == nil {
			continue
		}
		quoted := strings.ReplaceAll(regexp.QuoteMeta(*p), `\*`, ".*")
		if re, err := regexp.Compile("(?i)^" + quoted + "$"); err == nil && re.MatchString(action) {
			return true
		}
	}
	return false
}

// Eligibility reads the identity's own Azure PIM eligibilities at scope (a
// cheap read that needs the licence PIM needs): nil when the read works, a
// *job.UnavailableError (part azure-eligibility) when ARM says the tenant
// lacks PIM's licence or has not onboarded to PIM, else the read's error.
func (c *Checker) Eligibility(ctx context.Context, principalID, scope string) error {
	if !job.IsGUID(principalID) {
		return fmt.Errorf("the identity's object id %q is not a GUID", principalID)
	}
	filter := "principalId eq '" + principalID + "'"
	pager := c.src.eligibilities.NewListForScopePager(scope, &armauthorization.RoleEligibilitySchedulesClientListForScopeOptions{Filter: &filter})
	if _, err := pager.NextPage(ctx); err != nil {
		err = classify(err)
		if ue, ok := transport.LicenceMissing(err, PartEligibility); ok {
			return ue
		}
		return err
	}
	return nil
}
