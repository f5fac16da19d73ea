package main

// maxRSSBytes converts ru_maxrss, which macOS counts in bytes.
func maxRSSBytes(v int64) int64 { return v }
