package simtenant

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestNoP2AnswersPIMWithTheLicenceError(t *testing.T) {
	h := start(t, Config{Seed: 1, NoP2: true})
	sub := h.tenant.AddSubscription(ARMSubscription{})
	for _, path := range []string{
		"/v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '" + h.tenant.CallerID() + "'",
		"/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
	} {
		a := h.do(http.MethodGet, strings.ReplaceAll(path, " ", "%20"))
		if a.status != http.StatusBadRequest || a.errorCode(t) != codeLicence ||
			a.errorMessage(t) != "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license." {
			t.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
	}
	a := h.do(http.MethodPost, "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests", withBody([]byte(`{}`)),
		withHeader("Content-Type", "application/json"))
	if a.status != http.StatusBadRequest || a.errorCode(t) != codeLicence {
		t.Errorf("POST roleAssignmentScheduleRequests: %d %s", a.status, a.body)
	}
	a = h.do(http.MethodGet, sub.Scope()+"/providers/Microsoft.Authorization/roleEligibilitySchedules?api-version=2020-10-01")
	if a.status != http.StatusBadRequest ||
		string(a.body) != `{"error":{"code":"AadPremiumLicenseRequired","message":"The tenant needs an AAD Premium 2 license."}}` {
		t.Errorf("ARM roleEligibilitySchedules: %d %s", a.status, a.body)
	}
	// Role assignments do not need the licence.
	if a := h.do(http.MethodGet, "/v1.0/roleManagement/directory/roleAssignments"); a.status != http.StatusOK {
		t.Errorf("roleAssignments: %d %s", a.status, a.body)
	}
	if h.tenant.Stats().ByMethod[http.MethodPost] != 1 {
		t.Errorf("stats %+v", h.tenant.Stats())
	}
}

func TestDenyWithholdsAPermission(t *testing.T) {
	// A service principal's memberOf takes Application.Read.All or
	// Directory.Read.All, or a larger one (serviceprincipal-list-memberof).
	h := start(t, Config{Seed: 1, Deny: []string{PermApplicationRead, PermDirectoryRead, PermApplicationWrite}})
	parts := strings.Split(h.tenant.Token(), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Roles []string }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(claims.Roles, PermApplicationRead) || !slices.Contains(claims.Roles, PermRoleManagement) {
		t.Errorf("roles claim %v", claims.Roles)
	}
	a := h.do(http.MethodGet, "/v1.0/servicePrincipals/"+h.tenant.CallerID()+"/memberOf")
	if a.status != http.StatusForbidden || a.errorCode(t) != "Authorization_RequestDenied" {
		t.Errorf("memberOf: %d %s", a.status, a.body)
	}
	if a := h.do(http.MethodGet, "/v1.0/roleManagement/directory/roleAssignments"); a.status != http.StatusOK {
		t.Errorf("roleAssignments: %d %s", a.status, a.body)
	}
}

func TestARMRoleDefinitionsCarryTheirActions(t *testing.T) {
	h := start(t, Config{Seed: 1})
	sub := h.tenant.AddSubscription(ARMSubscription{})
	a := h.do(http.MethodGet, ARMRoleDefinitionID(sub.Scope(), ARMContributor)+"?api-version=2022-04-01")
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var def struct {
		ID         string
		Properties struct {
			RoleName    string
			Permissions []struct{ Actions, NotActions []string }
		}
	}
	if err := json.Unmarshal(a.body, &def); err != nil {
		t.Fatal(err)
	}
	if def.ID != ARMRoleDefinitionID(sub.Scope(), ARMContributor) || def.Properties.RoleName != "Contributor" ||
		len(def.Properties.Permissions) != 1 || !slices.Contains(def.Properties.Permissions[0].NotActions, "Microsoft.Authorization/*/Delete") {
		t.Errorf("definition %s", a.body)
	}
	if a := h.do(http.MethodGet, sub.Scope()+"/providers/Microsoft.Authorization/roleDefinitions/"+h.tenant.NewID()+"?api-version=2022-04-01"); a.status != http.StatusNotFound {
		t.Errorf("unknown role: %d", a.status)
	}
}
