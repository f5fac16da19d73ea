package app

import "testing"

func TestRerunCommandQuotes(t *testing.T) {
	got := rerunCommand("run", "HR's file; rm -rf ~.csv", "/reports/a b", []string{"--max-removals=5000"})
	want := `offboard run --input 'HR'\''s file; rm -rf ~.csv' --report '/reports/a b' --max-removals=5000`
	if got != want {
		t.Errorf("rerun\n%s\nwant\n%s", got, want)
	}
}
