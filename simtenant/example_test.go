package simtenant_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/offboard/offboard/simtenant"
)

// A test serves a tenant on a free loopback port, scripts a hiccup, lets the
// code under test talk to it, then asserts on the tenant's state and log.
func Example() {
	ctx := context.Background()
	tenant := simtenant.New(simtenant.Config{Seed: 1})
	user := tenant.AddUser(simtenant.User{UserPrincipalName: "adele@contoso.onmicrosoft.com"})
	a := tenant.AddRoleAssignment(simtenant.RoleAssignment{
		PrincipalID:      user.ID,
		RoleDefinitionID: simtenant.UserAdministrator,
	})
	tenant.AddRule(simtenant.Rule{Method: "DELETE", PathContains: a.ID, Times: 1, Status: 503})

	srv, err := tenant.Start(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	// The job would use srv.URL() as --graph-endpoint and tenant.Token()
	// as OFFBOARD_STATIC_TOKEN.
	for range 2 {
		req, _ := http.NewRequest("DELETE", srv.URL()+"/v1.0/roleManagement/directory/roleAssignments/"+a.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tenant.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	fmt.Println(len(tenant.RoleAssignmentsOf(user.ID)), tenant.Stats().ByMethodStatus["DELETE"][503])
	// Output:
	// 503
	// 204
	// 0 1
}
