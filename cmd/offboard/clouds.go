package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// checkEndpoint accepts https URLs, and http only on loopback: a token is
// never sent in clear text across a network.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: no query, fragment or user info allowed", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u) {
			return nil
		}
		return fmt.Errorf("%q: http is allowed only on loopback", raw)
	}
	return fmt.Errorf("%q: scheme must be https", raw)
}

// isLoopback reports whether the URL's host is 127.0.0.0/8, ::1 or
// localhost.
func isLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// cloud holds a sovereign cloud's endpoints (SERVICE_FACTS.md, Clouds).
type cloud struct {
	Graph, Login, ARM string
	azcore            azcloud.Configuration
}

var clouds = map[string]cloud{
	"public":   {Graph: "https://graph.microsoft.com", Login: "https://login.microsoftonline.com/", ARM: "https://management.azure.com", azcore: azcloud.AzurePublic},
	"usgov":    {Graph: "https://graph.microsoft.us", Login: "https://login.microsoftonline.us/", ARM: "https://management.usgovcloudapi.net", azcore: azcloud.AzureGovernment},
	"usgovdod": {Graph: "https://dod-graph.microsoft.us", Login: "https://login.microsoftonline.us/", ARM: "https://management.usgovcloudapi.net", azcore: azcloud.AzureGovernment},
	"china":    {Graph: "https://microsoftgraph.chinacloudapi.cn", Login: "https://login.chinacloudapi.cn/", ARM: "https://management.chinacloudapi.cn", azcore: azcloud.AzureChina},
}

// armOverride is the ARM endpoint when --arm-endpoint moved it off the
// cloud's own (whose token audience azcore then uses), else "".
func (c config) armOverride() string {
	if c.ARMEndpoint == strings.TrimRight(clouds[c.Cloud].ARM, "/") {
		return ""
	}
	return c.ARMEndpoint
}
