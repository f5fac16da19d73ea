package simtenant

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	syn := assignmentFilter()
	tests := []struct {
		name    string
		in      string
		want    filter
		wantErr bool
	}{
		{"eq", "principalId eq 'a'", filter{{"principalId", "eq", []string{"a"}}}, false},
		{"extra spaces", "  principalId   eq   'a'  ", filter{{"principalId", "eq", []string{"a"}}}, false},
		{"in", "principalId in ('a','b', 'c')", filter{{"principalId", "in", []string{"a", "b", "c"}}}, false},
		{"and", "principalId eq 'a' and roleDefinitionId in ('r') and directoryScopeId eq '/'",
			filter{{"principalId", "eq", []string{"a"}}, {"roleDefinitionId", "in", []string{"r"}}, {"directoryScopeId", "eq", []string{"/"}}}, false},
		{"appScopeId", "appScopeId eq 'x'", filter{{"appScopeId", "eq", []string{"x"}}}, false},
		{"escaped quote", "principalId eq 'o''brien'", filter{{"principalId", "eq", []string{"o'brien"}}}, false},
		{"only quotes", "principalId eq ''''", filter{{"principalId", "eq", []string{"'"}}}, false},
		{"empty literal", "principalId eq ''", filter{{"principalId", "eq", []string{""}}}, false},
		{"injection stays literal", "principalId eq 'x'' or principalId ne ''y'",
			filter{{"principalId", "eq", []string{"x' or principalId ne 'y"}}}, false},
		{"injection breaks out", "principalId eq 'x' or principalId ne 'y'", nil, true},
		{"or", "principalId eq 'a' or principalId eq 'b'", nil, true},
		{"ne", "principalId ne 'a'", nil, true},
		{"unknown property", "displayName eq 'a'", nil, true},
		{"property case", "PrincipalId eq 'a'", nil, true},
		{"operator case", "principalId EQ 'a'", nil, true},
		{"unterminated", "principalId eq 'a", nil, true},
		{"unquoted", "principalId eq a", nil, true},
		{"number", "principalId eq 1", nil, true},
		{"trailing and", "principalId eq 'a' and", nil, true},
		{"trailing garbage", "principalId eq 'a' 'b'", nil, true},
		{"empty", "", nil, true},
		{"empty in", "principalId in ()", nil, true},
		{"unclosed in", "principalId in ('a'", nil, true},
		{"in without parens", "principalId in 'a'", nil, true},
		{"parenthesised clause", "(principalId eq 'a')", nil, true},
		{"function", "startswith(principalId,'a')", nil, true},
		{"semicolon", "principalId eq 'a';", nil, true},
		{"any", "principalId/any(x:x eq 'a')", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFilter(tt.in, syn)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFilter(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseFilter(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseFilterTooManyValues(t *testing.T) {
	vals := make([]string, maxInValues+1)
	for i := range vals {
		vals[i] = "'v'"
	}
	_, err := parseFilter("principalId in ("+strings.Join(vals, ",")+")", assignmentFilter())
	var tooMany *tooManyValuesError
	if !errors.As(err, &tooMany) {
		t.Fatalf("err = %v, want tooManyValuesError", err)
	}
	if _, err := parseFilter("principalId in ("+strings.Join(vals[:maxInValues], ",")+")", assignmentFilter()); err != nil {
		t.Fatalf("%d values: %v", maxInValues, err)
	}
}

func TestFilterMatches(t *testing.T) {
	a := RoleAssignment{ID: "x", PrincipalID: "AAAA", RoleDefinitionID: "r", DirectoryScopeID: "/"}
	tests := []struct {
		filter string
		want   bool
	}{
		{"principalId eq 'aaaa'", true},
		{"principalId in ('b','AAAA')", true},
		{"principalId eq 'b'", false},
		{"principalId eq 'AAAA' and roleDefinitionId eq 'r'", true},
		{"principalId eq 'AAAA' and roleDefinitionId eq 's'", false},
		{"directoryScopeId eq '/'", true},
		{"appScopeId eq ''", false}, // null equals nothing
	}
	for _, tt := range tests {
		f, err := parseFilter(tt.filter, assignmentFilter())
		if err != nil {
			t.Fatal(err)
		}
		if got := f.matches(a.prop); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// TestParseFilterSyntaxes checks that each collection's $filter takes
// exactly its own operators and properties.
func TestParseFilterSyntaxes(t *testing.T) {
	schedules := eligibilitySpec(false).filter
	objects := directoryObjectFilter()
	tests := []struct {
		name    string
		syn     filterSyntax
		in      string
		want    filter
		wantErr bool
	}{
		{"schedules eq", schedules, "principalId eq 'a'", filter{{"principalId", "eq", []string{"a"}}}, false},
		{"schedules ne", schedules, "directoryScopeId ne '/'", filter{{"directoryScopeId", "ne", []string{"/"}}}, false},
		{"schedules and", schedules, "principalId eq 'a' and roleDefinitionId ne 'r'",
			filter{{"principalId", "eq", []string{"a"}}, {"roleDefinitionId", "ne", []string{"r"}}}, false},
		{"schedules refuse in", schedules, "principalId in ('a','b')", nil, true},
		{"schedules refuse appScopeId", schedules, "appScopeId eq 'a'", nil, true},
		{"schedules refuse memberType", schedules, "memberType eq 'Direct'", nil, true},
		{"schedules refuse or", schedules, "principalId eq 'a' or principalId eq 'b'", nil, true},
		{"assignments refuse ne", assignmentFilter(), "principalId ne 'a'", nil, true},
		{"objects bool", objects, "isAssignableToRole eq true", filter{{"isAssignableToRole", "eq", []string{"true"}}}, false},
		{"objects bool ne", objects, "securityEnabled ne false", filter{{"securityEnabled", "ne", []string{"false"}}}, false},
		{"objects bool quoted", objects, "isAssignableToRole eq 'true'", nil, true},
		{"objects bool case", objects, "isAssignableToRole eq True", nil, true},
		{"objects bool in", objects, "isAssignableToRole in (true)", nil, true},
		{"objects string", objects, "displayName eq 'Tier0'", filter{{"displayName", "eq", []string{"Tier0"}}}, false},
		{"objects string unquoted", objects, "displayName eq Tier0", nil, true},
		{"objects unknown", objects, "mailNickname eq 'x'", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFilter(tt.in, tt.syn)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFilter(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseFilter(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFilterMatchesNe(t *testing.T) {
	e := EligibilitySchedule{PrincipalID: "AAAA", RoleDefinitionID: "r", DirectoryScopeID: "/"}
	tests := []struct {
		filter string
		want   bool
	}{
		{"principalId ne 'aaaa'", false},
		{"principalId ne 'b'", true},
		{"principalId eq 'AAAA' and directoryScopeId ne '/administrativeUnits/x'", true},
		{"principalId eq 'AAAA' and roleDefinitionId ne 'R'", false},
	}
	for _, tt := range tests {
		f, err := parseFilter(tt.filter, eligibilitySpec(false).filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.matches(e.prop); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.filter, got, tt.want)
		}
	}
	// null ne 'x' holds, as in OData.
	f, _ := parseFilter("displayName ne 'x'", directoryObjectFilter())
	if !f.matches(func(string) string { return "" }) {
		t.Error("null ne 'x' should hold")
	}
}
