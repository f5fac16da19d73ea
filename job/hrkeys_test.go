package job

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  UserKey
		want string // "" or a part of the reason
	}{
		{UserKey{KeyMail, "alice@contoso.com"}, ""},
		{UserKey{KeyMail, "o'brien@contoso.com"}, ""},
		{UserKey{KeyMail, "alice"}, "not one '@'"},
		{UserKey{KeyMail, "a@b@c"}, "not one '@'"},
		{UserKey{KeyMail, "@contoso.com"}, "nothing before or after"},
		{UserKey{KeyMail, "a b@contoso.com"}, "white space"},
		{UserKey{KeyMail, "a\x00@contoso.com"}, "control character"},
		{UserKey{KeyMail, strings.Repeat("a", 251) + "@b.com"}, "more than 256"},
		{UserKey{KeyEmployeeID, "1234567890123456"}, ""},
		{UserKey{KeyEmployeeID, "x') or ('1'='1"}, ""}, // escaped, not refused
		{UserKey{KeyEmployeeID, "12345678901234567"}, "more than 16"},
		{UserKey{KeyEmployeeID, "12\n34"}, "control character"},
		{UserKey{KeyEmployeeID, " 1234"}, "white space"},
		{UserKey{KeyEmployeeID, ""}, "empty"},
		{UserKey{KeyEmployeeID, "\xff"}, "not UTF-8"},
		{UserKey{KeyUPN, "alice@contoso.com"}, ""},
		{UserKey{"department", "x"}, "unknown kind"},
	}
	for _, tt := range tests {
		got := CheckKey(tt.key)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("CheckKey(%s %q) = %q, want %q", tt.key.Kind, tt.key.Value, got, tt.want)
		}
	}
}

// keyDirectory answers keys from a table; a key it does not hold matches
// nobody, one in fail fails.
type keyDirectory struct {
	users map[UserKey][]DirectoryUser
	fail  map[UserKey]error
	asked [][]UserKey
}

func (d *keyDirectory) Resolve(_ context.Context, keys []UserKey) map[UserKey]Resolution {
	d.asked = append(d.asked, keys)
	out := map[UserKey]Resolution{}
	for _, k := range keys {
		out[k] = Resolution{Users: d.users[k], Err: d.fail[k]}
	}
	return out
}

func TestAdmitResolvesEveryKeyInOneCall(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}, bob: {"b1"}, carol: {"c1"}}, group: 5}
	rec := &fakeRecorder{}
	dir := &keyDirectory{
		users: map[UserKey][]DirectoryUser{
			{KeyMail, "alice@contoso.com"}:  {{ID: alice, UPN: "alice@contoso.onmicrosoft.com"}},
			{KeyEmployeeID, "7"}:            {{ID: alice, UPN: "alice@contoso.onmicrosoft.com"}},
			{KeyEmployeeID, "8"}:            {{ID: bob, UPN: "bob@contoso.onmicrosoft.com"}, {ID: carol, UPN: "carol@contoso.onmicrosoft.com"}},
			{KeyMail, "carol@contoso.com"}:  {{ID: carol, UPN: "carol@contoso.onmicrosoft.com"}},
			{KeyUPN, "bob@contoso.com"}:     {{ID: bob, UPN: "bob@contoso.com"}},
			{KeyMail, "flaky@contoso.com"}:  nil,
			{KeyMail, "nobody@contoso.com"}: nil,
		},
		fail: map[UserKey]error{{KeyMail, "flaky@contoso.com"}: errors.New("HTTP 503 after 6 attempts")},
	}
	r := newRunner(src, rec, day1)
	r.Directory = dir
	entries := []Entry{
		{Line: 2, Mail: "alice@contoso.com", EmployeeID: "7"}, // agree
		{Line: 3, EmployeeID: "8"},                            // two users
		{Line: 4, UPN: "bob@contoso.com", Mail: "carol@contoso.com"},
		{Line: 5, Mail: "flaky@contoso.com"},
		{Line: 6, Mail: "nobody@contoso.com"},
		{Line: 7, EmployeeID: "7"}, // alice again
		// The object id of an account whose mail names nobody any more
		// (deleted): acted on by id.
		{Line: 8, PrincipalID: bob, Mail: "nobody@contoso.com"},
	}
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.asked) != 1 || len(dir.asked[0]) != 7 {
		t.Errorf("asked %v, want the 7 distinct keys in one call", dir.asked)
	}
	got := states(res.Items)
	want := map[string]string{
		alice + "/directory/a1": "removed ",
		bob + "/directory/b1":   "removed ",
		"line 3":                `invalid line 3: employee_id "8" matches 2 users`,
		"line 4":                `invalid line 4: the keys name different objects: user_principal_name "bob@contoso.com" names ` + bob + `, mail "carol@contoso.com" names ` + carol,
		"line 5":                "failed line 5: resolving mail: HTTP 503 after 6 attempts",
		"line 6":                `not-found line 6: mail "nobody@contoso.com" names no user of the tenant`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rows %v", got)
	}
	for _, it := range res.Items {
		if it.PrincipalID == alice {
			if it.UPN != "alice@contoso.onmicrosoft.com" || it.Keys == nil || strings.Join(*it.Keys, ",") != "employee_id:7,mail:alice@contoso.com" {
				t.Errorf("alice's row %+v keys %v", it, it.Keys)
			}
		}
	}
	if len(src.removed) != 2 {
		t.Errorf("removed %v, want alice's and bob's", src.removed)
	}
}
