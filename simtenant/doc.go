// Package simtenant is a simulated Microsoft Entra tenant: an HTTP server that
// answers like Microsoft Graph, so that tests, `offboard demo`, `offboard
// simulate` and benchmarks can run the real SDKs over real HTTP without an
// Azure account.
//
// It is a product feature, not a stub: it mirrors the documented behaviour the
// job depends on (OData $filter grammar, absolute @odata.nextLink paging,
// 404 and self-removal refusals, both error shapes, token-bucket throttling
// with Retry-After, gzip request bodies) and it can be scripted to misbehave
// (deterministic faults, rules, ghost assignments that are listed but gone).
// Every request is logged and counted, and behaviour that breaks the job's
// contract is recorded as a violation, so tests can assert on what the job
// actually sent.
//
// The layout keeps one data model behind one mutex (tenant.go, with group
// memberships in groups.go and PIM eligibilities in pim.go), one request
// pipeline (server.go) shared by every service, and one file per service
// area (graph_roles.go, graph_users.go, graph_pim.go, graph_groups.go, ...),
// each adding its routes to the tenant's routing table.
package simtenant
