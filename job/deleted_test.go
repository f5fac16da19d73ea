package job

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// deletedDirectory is a keyDirectory that also answers soft-deleted
// users from a table.
type deletedDirectory struct {
	keyDirectory
	deleted      map[UserKey][]DirectoryUser
	deletedFail  map[UserKey]error
	deletedAsked [][]UserKey
}

func (d *deletedDirectory) ResolveDeleted(_ context.Context, keys []UserKey) map[UserKey]Resolution {
	d.deletedAsked = append(d.deletedAsked, keys)
	out := map[UserKey]Resolution{}
	for _, k := range keys {
		out[k] = Resolution{Users: d.deleted[k], Err: d.deletedFail[k]}
	}
	return out
}

func TestKeysNoLiveUserMatchesAreLookedUpAmongDeletedUsers(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}, bob: {"b1"}}, group: 5}
	rec := &fakeRecorder{}
	gone := UserKey{KeyUPN, "bob@contoso.com"}
	nobody := UserKey{KeyMail, "nobody@contoso.com"}
	broken := UserKey{KeyEmployeeID, "9"}
	dir := &deletedDirectory{
		keyDirectory: keyDirectory{users: map[UserKey][]DirectoryUser{{KeyMail, "alice@contoso.com"}: {{ID: alice, UPN: "alice@contoso.com"}}}},
		deleted:      map[UserKey][]DirectoryUser{gone: {{ID: bob, UPN: "bob@contoso.com", Deleted: true}}},
		deletedFail:  map[UserKey]error{broken: errors.New("HTTP 400 Request_UnsupportedQuery")},
	}
	r := newRunner(src, rec, day1)
	r.Directory = dir
	res, err := r.Run(context.Background(), []Entry{
		{Line: 2, Mail: "alice@contoso.com"},
		{Line: 3, UPN: "bob@contoso.com"},
		{Line: 4, Mail: "nobody@contoso.com"},
		{Line: 5, EmployeeID: "9"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.deletedAsked) != 1 {
		t.Fatalf("deleted users asked %d times, want once", len(dir.deletedAsked))
	}
	asked := dir.deletedAsked[0]
	if len(asked) != 3 || !slices.Contains(asked, gone) || !slices.Contains(asked, nobody) || !slices.Contains(asked, broken) {
		t.Errorf("deleted users asked for %v, want the three keys no live user matched", asked)
	}
	got := states(res.Items)
	want := map[string]string{
		alice + "/directory/a1": "removed ",
		bob + "/directory/b1":   "removed ",
		"line 4":                `not-found line 4: mail "nobody@contoso.com" names no user of the tenant`,
		"line 5":                `not-found line 5: employee_id "9" names no user of the tenant (soft-deleted users could not be searched: HTTP 400 Request_UnsupportedQuery)`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rows %v", got)
	}

	// Every key matched a live user: deleted users are not asked.
	dir.deletedAsked = nil
	r = newRunner(src, &fakeRecorder{}, day1)
	r.Directory = dir
	if _, err := r.Run(context.Background(), []Entry{{Line: 2, Mail: "alice@contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	if len(dir.deletedAsked) != 0 {
		t.Errorf("deleted users asked %v when every key matched", dir.deletedAsked)
	}
}
