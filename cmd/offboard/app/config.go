package app

import (
	"strings"
	"time"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/offboard/offboard/report/location"
)

// Config is everything `run` needs, from flags and OFFBOARD_* variables
// (cmd/offboard reads and checks them); restore, watch and check add
// their own to it.
type Config struct {
	Input, Report   string
	DryRun          bool
	Sources         []string
	AzureScopes     []string
	Concurrency     int
	GraphWriteRate  float64
	GraphWriteBurst int
	ARMDeleteRate   float64
	ARMDeleteBurst  int
	MaxRemovals     int
	Protect         map[string]bool
	SelfID          string
	// Tenant is the tenant id the job is for (--tenant), "" when not set.
	Tenant        string
	Cloud         string
	GraphEndpoint string
	ARMEndpoint   string
	LogFormat     string
	MaxAttempts   int
	Grace         time.Duration
	// Timeout is the run's deadline from its start (0: none);
	// RequestTimeout bounds one attempt of one request.
	Timeout        time.Duration
	RequestTimeout time.Duration
	// GraphBatchSize is how many Graph removals one $batch request
	// carries; 1 sends each on its own. Only `run` sets it: a restore
	// sends its requests one by one.
	GraphBatchSize int
	// Verbose shows every outcome at a terminal, not only failures.
	Verbose bool
	// MaxRemovalsPerPrincipal holds back a principal whose plan holds
	// more removals (run, plan and watch; a restore has no such cap).
	MaxRemovalsPerPrincipal int
	// Changed lists the flags not at their default (--name=value), for
	// the rerun command.
	Changed []string
	// Processed is where a drop-folder file goes once it has finished
	// cleanly (empty: it stays).
	Processed string
	// InputAt, ReportAt and ProcessedAt are Input, Report and Processed
	// parsed, once, where the flags are read.
	InputAt, ReportAt, ProcessedAt location.Location
}

// Cloud holds a sovereign cloud's endpoints (SERVICE_FACTS.md, Clouds).
type Cloud struct {
	Graph, Login, ARM string
	Azcore            azcloud.Configuration
}

// CloudNamed is the cloud --cloud names; ok is false for a name that is
// not one.
func CloudNamed(name string) (c Cloud, ok bool) {
	c, ok = clouds[name]
	return c, ok
}

// clouds are --cloud's values.
var clouds = map[string]Cloud{
	"public":   {Graph: "https://graph.microsoft.com", Login: "https://login.microsoftonline.com/", ARM: "https://management.azure.com", Azcore: azcloud.AzurePublic},
	"usgov":    {Graph: "https://graph.microsoft.us", Login: "https://login.microsoftonline.us/", ARM: "https://management.usgovcloudapi.net", Azcore: azcloud.AzureGovernment},
	"usgovdod": {Graph: "https://dod-graph.microsoft.us", Login: "https://login.microsoftonline.us/", ARM: "https://management.usgovcloudapi.net", Azcore: azcloud.AzureGovernment},
	"china":    {Graph: "https://microsoftgraph.chinacloudapi.cn", Login: "https://login.chinacloudapi.cn/", ARM: "https://management.chinacloudapi.cn", Azcore: azcloud.AzureChina},
}

// ARMOverride is the ARM endpoint when --arm-endpoint moved it off the
// cloud's own (whose token audience azcore then uses), else "".
func (c Config) ARMOverride() string {
	if c.ARMEndpoint == strings.TrimRight(clouds[c.Cloud].ARM, "/") {
		return ""
	}
	return c.ARMEndpoint
}

// EndpointsInUse lists the service roots the run will call.
func (c Config) EndpointsInUse() []string {
	out := []string{c.GraphEndpoint}
	if UsesARM(c.Sources) {
		out = append(out, c.ARMEndpoint)
	}
	return out
}
