package graph

import "testing"

func TestTypedAzureIsCheaper(t *testing.T) {
	tests := []struct {
		name         string
		g, n, batch  int
		wantByMember bool
	}{
		{"few groups, few principals", 3, 2, 20, false},
		{"many groups, few principals", 43, 2, 20, true},
		{"many groups, many principals", 43, 500, 20, false},
		{"no groups", 0, 2, 20, false},
		{"no batching, one principal, one group", 1, 1, 1, false},
		{"no batching, one principal, two groups", 2, 1, 1, true},
	}
	for _, tt := range tests {
		if got := typedAzureIsCheaper(tt.g, tt.n, tt.batch); got != tt.wantByMember {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.wantByMember)
		}
	}
}
