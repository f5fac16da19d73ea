package job

import (
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	r, err := NewRegistry(
		[]Kind{{Name: "a", Source: "s1", Service: ServiceGraph, Permissions: []string{"P1", "P2"}},
			{Name: "b", Source: "s1", Service: ServiceGraph, Permissions: []string{"P2", "P3"}}},
		[]Kind{{Name: "c", Source: "s2", Service: ServiceARM}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Sources(); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Errorf("Sources = %v", got)
	}
	if got := r.Permissions("s1"); !slices.Equal(got, []string{"P1", "P2", "P3"}) {
		t.Errorf("Permissions(s1) = %v", got)
	}
	if k, ok := r.Lookup("c"); !ok || k.Source != "s2" {
		t.Errorf("Lookup(c) = %v, %v", k, ok)
	}
	if r.Service("s1") != ServiceGraph || r.Service("s2") != ServiceARM || r.Service("s3") != "" {
		t.Errorf("Service: s1 %q, s2 %q, s3 %q", r.Service("s1"), r.Service("s2"), r.Service("s3"))
	}
	if _, ok := r.Lookup("d"); ok {
		t.Error("Lookup(d) found a kind never registered")
	}
	if _, err := NewRegistry([]Kind{{Name: "a", Source: "s", Service: ServiceARM}}, []Kind{{Name: "a", Source: "t", Service: ServiceARM}}); err == nil {
		t.Error("a kind registered twice was accepted")
	}
	if _, err := NewRegistry([]Kind{{Name: "a"}}); err == nil {
		t.Error("a kind without a source was accepted")
	}
	if _, err := NewRegistry([]Kind{{Name: "a", Source: "s"}}); err == nil {
		t.Error("a kind without a service was accepted")
	}
	if _, err := NewRegistry([]Kind{{Name: "a", Source: "s", Service: ServiceGraph}, {Name: "b", Source: "s", Service: ServiceARM}}); err == nil {
		t.Error("a source with kinds on two services was accepted")
	}
}
