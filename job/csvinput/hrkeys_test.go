package csvinput

import (
	"errors"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
)

func TestReadHRKeys(t *testing.T) {
	t.Parallel()
	in := "Reference, MAIL ,Employee_ID\n" +
		"HR-1,alice@contoso.com,\n" +
		"HR-2,,  100042 \n" +
		"HR-3,o'brien@contoso.com,E'1\n" +
		"HR-4,not-a-mail,\n" +
		"HR-5,,12345678901234567\n" +
		"HR-6,a b@contoso.com,\n" +
		"HR-7,,\n"
	got := readString(t, in)
	want := []job.Entry{
		{Line: 2, Reference: "HR-1", Mail: "alice@contoso.com"},
		{Line: 3, Reference: "HR-2", EmployeeID: "100042"},
		{Line: 4, Reference: "HR-3", Mail: "o'brien@contoso.com", EmployeeID: "E'1"},
		{Line: 5, Reference: "HR-4", Mail: "not-a-mail", Problem: `line 5: mail "not-a-mail" cannot be looked up: not one '@'`},
		{Line: 6, Reference: "HR-5", EmployeeID: "12345678901234567",
			Problem: `line 6: employee_id "12345678901234567" cannot be looked up: 17 characters long, more than 16`},
		{Line: 7, Reference: "HR-6", Mail: "a b@contoso.com", Problem: `line 7: mail "a b@contoso.com" cannot be looked up: contains white space`},
		{Line: 8, Reference: "HR-7", Problem: "line 8: none of principal_id, user_principal_name, mail, employee_id is given"},
	}
	sameEntries(t, got, want)
}

func TestReadHeaderNeedsAKeyColumn(t *testing.T) {
	t.Parallel()
	for _, header := range []string{"mail", "employee_id", "principal_id", "user_principal_name"} {
		if _, err := Read(strings.NewReader(header + ",reference\nx,y\n")); err != nil {
			t.Errorf("header %q: %v", header, err)
		}
	}
	_, err := Read(strings.NewReader("email,employee\nx,y\n"))
	if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), "none of the key columns") {
		t.Errorf("no key column: %v", err)
	}
}

func TestEntraExportHeaderAndUnusableHeaderSaysWhatItRead(t *testing.T) {
	entries, err := Read(strings.NewReader("Id,UserPrincipalName,Mail,EmployeeId,DisplayName\n" +
		"AAAAAAAA-0000-0000-0000-000000000001,ada@contoso.com,ada@contoso.com,1001,Ada\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].PrincipalID != "aaaaaaaa-0000-0000-0000-000000000001" || entries[0].UPN != "ada@contoso.com" ||
		entries[0].Mail != "ada@contoso.com" || entries[0].EmployeeID != "1001" || entries[0].Problem != "" {
		t.Errorf("entries %+v", entries)
	}
	_, err = Read(strings.NewReader("principal_id;reference\nx;y\n"))
	if err == nil || !strings.Contains(err.Error(), `"principal_id;reference"`) || !strings.Contains(err.Error(), "';'-separated") {
		t.Errorf("a ';'-separated file: %v", err)
	}
	_, err = Read(strings.NewReader("name,department\nada,hr\n"))
	if err == nil || !strings.Contains(err.Error(), `"name,department"`) || strings.Contains(err.Error(), "';'") {
		t.Errorf("a header without key columns: %v", err)
	}
}
