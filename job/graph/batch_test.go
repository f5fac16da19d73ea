package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// scripted answers a $batch from a table: the sub-request's method, URL
// and (for a POST) principalId pick its status and body.
type scripted map[string]struct {
	status int
	body   string
}

func (s scripted) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/$batch" || r.Method != http.MethodPost {
			t.Errorf("%s %s outside a batch", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var in struct {
			Requests []struct {
				ID, Method, URL string
				Body            struct {
					PrincipalID string `json:"principalId"`
				}
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		type resp struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers,omitempty"`
			Body    json.RawMessage   `json:"body,omitempty"`
		}
		var out struct {
			Responses []resp `json:"responses"`
		}
		for _, q := range in.Requests {
			key := q.Method + " " + q.URL
			if q.Body.PrincipalID != "" {
				key += " " + q.Body.PrincipalID
			}
			a, ok := s[key]
			if !ok {
				t.Errorf("unexpected sub-request %s", key)
			}
			var body json.RawMessage
			if a.body != "" {
				body = json.RawMessage(a.body)
			}
			out.Responses = append(out.Responses, resp{ID: q.ID, Status: a.status, Body: body,
				Headers: map[string]string{"Content-Type": "application/json"}})
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func batchClient(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	c, err := New(Config{Root: srv.URL, UserAgent: "test", BatchSize: 20,
		Transport: &transport.Transport{Base: http.DefaultTransport, MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	modern = `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`
	legacy = `{"odata.error":{"code":"InvalidAuthenticationToken","message":{"lang":"en","value":"Access token has expired."}}}`
	p1     = "11111111-1111-1111-1111-111111111111"
	p2     = "22222222-2222-2222-2222-222222222222"
	p3     = "33333333-3333-3333-3333-333333333333"
	g1     = "99999999-9999-9999-9999-999999999999"
)

// Each sub-response maps to the outcome the same answer to a single
// request gives.
func TestBatchAnswersMapLikeSingleOnes(t *testing.T) {
	const dir = "/roleManagement/directory/roleAssignments/"
	const sched = "/roleManagement/directory/roleAssignmentScheduleRequests"
	const elig = "/roleManagement/directory/roleEligibilityScheduleRequests"
	srv := scripted{
		"DELETE " + dir + "gone":                            {204, ""},
		"DELETE " + dir + "absent":                          {404, `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'absent' does not exist."}}`},
		"DELETE " + dir + "managed":                         {400, `{"error":{"code":"Request_BadRequest","message":"Managed by PIM."}}`},
		"POST " + sched + " " + p1:                          {201, `{"status":"Revoked"}`},
		"DELETE " + dir + "refused":                         {400, `{"error":{"code":"Request_BadRequest","message":"Removing self from Global Administrator built-in role is not allowed"}}`},
		"POST " + sched + " " + p2:                          {400, `{"error":{"code":"RoleAssignmentDoesNotExist","message":"No."}}`},
		"DELETE " + dir + "denied":                          {403, modern},
		"DELETE " + dir + "expired":                         {401, legacy},
		"POST " + elig + " " + p1:                           {201, `{"status":"Revoked"}`},
		"POST " + elig + " " + p2:                           {400, `{"error":{"code":"RoleAssignmentDoesNotExist","message":"The Role assignment does not exist."}}`},
		"POST " + elig + " " + p3:                           {400, `{"error":{"code":"InvalidScope","message":"Bad scope."}}`},
		"DELETE /groups/" + g1 + "/members/" + p1 + "/$ref": {204, ""},
		"DELETE /groups/" + g1 + "/members/" + p2 + "/$ref": {404, `{"error":{"code":"Request_ResourceNotFound","message":"Not a member."}}`},
		"DELETE /groups/" + g1 + "/members/" + p3 + "/$ref": {403, legacy},
		"DELETE /groups/" + g1 + "/owners/" + p1 + "/$ref":  {404, `{"error":{"code":"Request_ResourceNotFound","message":"Not an owner."}}`},
	}.serve(t)
	c := batchClient(t, srv)
	ctx := context.Background()
	check := func(src string, got []job.BatchResult, want []string) {
		t.Helper()
		for i, r := range got {
			s := string(r.Outcome.State) + " " + r.Outcome.Detail
			if r.Err != nil {
				s = "error " + r.Err.Error()
			}
			if !strings.HasPrefix(s, want[i]) {
				t.Errorf("%s #%d: %q, want %q…", src, i, s, want[i])
			}
		}
	}
	check("directory", c.DirectoryRoles().RemoveBatch(ctx, []job.Assignment{
		{ID: "gone", PrincipalID: p1}, {ID: "absent", PrincipalID: p1},
		{ID: "managed", PrincipalID: p1, RoleDefinitionID: "r", Scope: "/"},
		{ID: "refused", PrincipalID: p2, RoleDefinitionID: "r", Scope: "/"},
		{ID: "denied", PrincipalID: p1}, {ID: "expired", PrincipalID: p1},
	}), []string{
		"removed ",
		"already-absent HTTP 404 Request_ResourceNotFound: Resource 'absent' does not exist.",
		"removed removed with a roleAssignmentScheduleRequest (adminRemove): the plain DELETE was refused: HTTP 400 Request_BadRequest: Managed by PIM.",
		"error HTTP 400 Request_BadRequest: Removing self from Global Administrator",
		"error HTTP 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.",
		"error HTTP 401 InvalidAuthenticationToken: Access token has expired.",
	})
	check("pim", c.Eligibilities().RemoveBatch(ctx, []job.Assignment{
		{ID: "e1", PrincipalID: p1, RoleDefinitionID: "r", Scope: "/"},
		{ID: "e2", PrincipalID: p2, RoleDefinitionID: "r", Scope: "/"},
		{ID: "e3", PrincipalID: p3, RoleDefinitionID: "r", Scope: "/"},
	}), []string{"removed ", "already-absent HTTP 400 RoleAssignmentDoesNotExist", "error HTTP 400 InvalidScope: Bad scope."})
	check("groups", c.Memberships().RemoveBatch(ctx, []job.Assignment{
		{Kind: job.KindGroupMember, ID: g1, PrincipalID: p1}, {Kind: job.KindGroupMember, ID: g1, PrincipalID: p2},
		{Kind: job.KindGroupMember, ID: g1, PrincipalID: p3}, {Kind: job.KindGroupOwner, ID: g1, PrincipalID: p1},
	}), []string{"removed ", "already-absent HTTP 404", "error HTTP 403 InvalidAuthenticationToken: Access token has expired.",
		// An id that is not a GUID never gets here (CheckID, at the
		// listing); the kind, not the id, says what is removed.
		"already-absent HTTP 404 Request_ResourceNotFound: Not an owner."})
	// The PIM-managed one took two requests: its DELETE and its adminRemove.
	if r := c.DirectoryRoles().RemoveBatch(ctx, []job.Assignment{{ID: "managed", PrincipalID: p1, RoleDefinitionID: "r", Scope: "/"}}); r[0].Attempts != 2 {
		t.Errorf("attempts %d, want 2", r[0].Attempts)
	}
}

// A member DELETE without /$ref never leaves the process, batched or not.
func TestBatchRefusesMemberDeleteWithoutRef(t *testing.T) {
	c := batchClient(t, scripted{}.serve(t))
	subs := []transport.SubRequest{{Method: http.MethodDelete, URL: "/groups/" + g1 + "/members/" + p1}}
	if a := c.sendBatch(context.Background(), subs, []int{0}); a[0].Err != errMemberDelete {
		t.Errorf("answer %+v, want the refusal", a[0])
	}
}

// A batch refused as a whole is no answer to any of its requests: a 404
// from a gateway without $batch, or a 204, never becomes already-absent or
// removed; every row fails with the service's reason.
func TestBatchRefusedAsAWholeFailsEveryRow(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		want   string
	}{
		{404, `{"error":{"code":"NotFound","message":"No route."}}`, "the $batch request was refused as a whole: HTTP 404: NotFound: No route."},
		{204, "", "the $batch request was refused as a whole: HTTP 204"},
		{403, modern, "the $batch request was refused as a whole: HTTP 403: Authorization_RequestDenied: Insufficient privileges"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tt.status)
			_, _ = w.Write([]byte(tt.body))
		}))
		c := batchClient(t, srv)
		for _, r := range c.DirectoryRoles().RemoveBatch(context.Background(), []job.Assignment{{ID: "a1", PrincipalID: p1}, {ID: "a2", PrincipalID: p1}}) {
			if r.Err == nil || !strings.HasPrefix(r.Err.Error(), tt.want) {
				t.Errorf("HTTP %d: outcome %+v, error %v; want a failure %q", tt.status, r.Outcome, r.Err, tt.want)
			}
		}
		srv.Close()
	}
}
