package simtenant

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	props := assignmentFilterProps()
	tests := []struct {
		name    string
		in      string
		want    filter
		wantErr bool
	}{
		{"eq", "principalId eq 'a'", filter{{"principalId", []string{"a"}}}, false},
		{"extra spaces", "  principalId   eq   'a'  ", filter{{"principalId", []string{"a"}}}, false},
		{"in", "principalId in ('a','b', 'c')", filter{{"principalId", []string{"a", "b", "c"}}}, false},
		{"and", "principalId eq 'a' and roleDefinitionId in ('r') and directoryScopeId eq '/'",
			filter{{"principalId", []string{"a"}}, {"roleDefinitionId", []string{"r"}}, {"directoryScopeId", []string{"/"}}}, false},
		{"appScopeId", "appScopeId eq 'x'", filter{{"appScopeId", []string{"x"}}}, false},
		{"escaped quote", "principalId eq 'o''brien'", filter{{"principalId", []string{"o'brien"}}}, false},
		{"only quotes", "principalId eq ''''", filter{{"principalId", []string{"'"}}}, false},
		{"empty literal", "principalId eq ''", filter{{"principalId", []string{""}}}, false},
		{"injection stays literal", "principalId eq 'x'' or principalId ne ''y'",
			filter{{"principalId", []string{"x' or principalId ne 'y"}}}, false},
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
			got, err := parseFilter(tt.in, props)
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
	_, err := parseFilter("principalId in ("+strings.Join(vals, ",")+")", assignmentFilterProps())
	var tooMany *tooManyValuesError
	if !errors.As(err, &tooMany) {
		t.Fatalf("err = %v, want tooManyValuesError", err)
	}
	if _, err := parseFilter("principalId in ("+strings.Join(vals[:maxInValues], ",")+")", assignmentFilterProps()); err != nil {
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
		f, err := parseFilter(tt.filter, assignmentFilterProps())
		if err != nil {
			t.Fatal(err)
		}
		if got := f.matches(a.prop); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.filter, got, tt.want)
		}
	}
}
