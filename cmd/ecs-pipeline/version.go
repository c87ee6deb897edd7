package main

import "runtime/debug"

// Version is set at build time (-ldflags "-X main.Version=v1.2.3"); empty
// reports the module version Go recorded, or "devel".
var Version string

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
