package blob

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		raw       string
		blob      bool
		err       bool
		container string
		path      string
		folder    bool
	}{
		{raw: "/mnt/offboard/in.csv"},
		{raw: "-"},
		{raw: "reports/2026"},
		{raw: "https://acct.blob.core.windows.net/incoming/2026/in.csv", blob: true, container: "https://acct.blob.core.windows.net/incoming", path: "2026/in.csv"},
		{raw: "https://acct.blob.core.windows.net/incoming/drop/", blob: true, container: "https://acct.blob.core.windows.net/incoming", path: "drop/", folder: true},
		{raw: "https://acct.blob.core.usgovcloudapi.net/c/x.csv", blob: true, container: "https://acct.blob.core.usgovcloudapi.net/c", path: "x.csv"},
		{raw: "https://acct.blob.core.chinacloudapi.cn/c/x.csv", blob: true, container: "https://acct.blob.core.chinacloudapi.cn/c", path: "x.csv"},
		{raw: "http://127.0.0.1:10000/devstoreaccount1/reports/r/", blob: true, container: "http://127.0.0.1:10000/devstoreaccount1/reports", path: "r/", folder: true},
		{raw: "https://acct.blob.core.windows.net/incoming/", blob: true, container: "https://acct.blob.core.windows.net/incoming", path: "", folder: true},
		{raw: "http://127.0.0.1:10000/devstoreaccount1/reports/", blob: true, container: "http://127.0.0.1:10000/devstoreaccount1/reports", path: "", folder: true},
		{raw: "https://acct.blob.core.windows.net/incoming", blob: true, err: true},
		{raw: "https://acct.blob.core.windows.net/", blob: true, err: true},
		{raw: "http://127.0.0.1:10000/devstoreaccount1/", blob: true, err: true},
		{raw: "https://acct.blob.core.windows.net/c/x.csv?sv=2020&sig=secret", blob: true, err: true},
		{raw: "http://acct.blob.core.windows.net/c/x.csv", blob: true, err: true},
		{raw: "https://evil.example.com/c/x.csv", blob: true, err: true},
		{raw: "http://10.0.0.1:10000/devstoreaccount1/c/x", blob: true, err: true},
		{raw: "https://acct.blob.core.windows.net/c//x", blob: true, err: true},
	}
	for _, tt := range tests {
		loc, ok, err := Parse(tt.raw)
		if ok != tt.blob || (err != nil) != tt.err {
			t.Errorf("Parse(%q) = blob %v, err %v", tt.raw, ok, err)
			continue
		}
		if err != nil || !ok {
			continue
		}
		if loc.Container != tt.container || loc.Path != tt.path || loc.Folder() != tt.folder {
			t.Errorf("Parse(%q) = %+v", tt.raw, loc)
		}
	}
}

func TestJoinAndPrefix(t *testing.T) {
	for _, tt := range []struct {
		raw, prefix, joined string
	}{
		{"https://acct.blob.core.windows.net/reports/", "", "a.csv"},
		{"https://acct.blob.core.windows.net/reports/nightly/", "nightly/", "nightly/a.csv"},
		{"https://acct.blob.core.windows.net/reports/nightly", "nightly/", "nightly/a.csv"},
	} {
		loc, _, err := Parse(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := loc.Prefix(); got != tt.prefix {
			t.Errorf("%s: prefix %q, want %q", tt.raw, got, tt.prefix)
		}
		if got := loc.Join("a.csv").Path; got != tt.joined {
			t.Errorf("%s: joined %q, want %q", tt.raw, got, tt.joined)
		}
	}
}
