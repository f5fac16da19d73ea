//go:build unix && !darwin

package main

// maxRSSBytes converts ru_maxrss, which Linux and the BSDs count in
// kilobytes.
func maxRSSBytes(v int64) int64 { return v << 10 }
