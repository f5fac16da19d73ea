//go:build !unix

package main

import "os"

// killSelf ends the process at once, as kill -9 would.
func killSelf() { os.Exit(137) }
