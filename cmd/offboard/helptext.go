package main

// What each command's help says besides its flags: what it does, examples
// and exit codes (CONTRACT.md's, in a line each).

const runLong = `Removes the access of departing principals. Reads a CSV of departing
users, service principals and groups; finds every role assignment they hold in
the selected sources; plans their removal; checks the plan against the guards
before the first write; removes what the plan says, concurrently under one pace
per service that keeps to its throttling limits; and writes a report (report.csv,
summary.json, summary.html and a journal) that a rerun into the same directory
picks up and completes.`

const runExamples = `  # Tonight's departures; the report directory is created if missing
  offboard run --input departures.csv --report ./reports/2026-11-23

  # See first what it would remove (the same as offboard plan)
  offboard run --input departures.csv --report ./plans/2026-11-23 --dry-run

  # Azure RBAC and Key Vault access policies too, in every subscription
  offboard run --input departures.csv --report ./reports/2026-11-23 \
      --sources directory,pim,groups,azure,keyvault --azure-scopes all

  # Configured by variables, as a Container Apps job is
  export OFFBOARD_INPUT=departures.csv OFFBOARD_REPORT=./reports/2026-11-23
  offboard run`

const planLong = `Resolves and plans only, the same as run --dry-run: every removal the
run would make is listed, with status planned, in report.csv and on
plan-summary.html (what an approver reviews); not one write request is sent, and a
real run's summary in the same directory is never overwritten. A plan accepts
run's write flags (the write paces, --graph-batch-size) and has no use for them.`

const planExamples = `  offboard plan --input departures.csv --report ./plans/2026-11-23
  offboard plan --input departures.csv --report ./plans/2026-11-23 \
      --sources directory,azure --azure-scopes /subscriptions/{id}`

const runExits = `0 every row ended removed, already-absent, skipped, deferred, no-assignments or planned
1 at least one row failed or invalid (or not-found, the first time), or a principal held back by --max-removals-per-principal
2 usage, configuration or input-file error, or the report directory is busy or belongs to another input; nothing changed
3 a guard stopped the run; nothing changed
4 interrupted (SIGINT, SIGTERM or --timeout): no new work started, in-flight requests finished or cancelled, report written`

const checkLong = `A read-only preflight, before the first night: for each selected source
whether the job's identity can use it (ok), the tenant lacks it (unavailable: a
licence) or the identity lacks a permission (missing), with the fix; whether the
input is readable CSV and the report location writable. It sends no write.
run's write, guard and display flags (the paces, --max-removals, --grace,
--timeout, --verbose) are accepted and ignored.`

const checkExamples = `  offboard check --input departures.csv --report ./reports/2026-11-23
  offboard check --sources directory,pim,groups,azure --azure-scopes all \
      --output json`

const checkExits = `0 every check usable
1 any check not usable
2 usage or configuration error`

const restoreLong = `Puts back what the run in a report directory removed, for the
principals named (--principal) or every one (--all): one of the two is required.
Only the removals the journal confirms are restored; a journal that was not
written for that directory, shorter than its authenticated summary names, or
unsigned where authenticated records exist is refused. Writes restore.csv,
restore.jsonl and restore-summary.json/.html beside the run's report.`

const restoreExamples = `  # See what it would put back
  offboard restore --report ./reports/2026-11-23 --principal kim@contoso.com \
      --dry-run

  offboard restore --report ./reports/2026-11-23 --principal kim@contoso.com
  offboard restore --report ./reports/2026-11-23 --principal id1,id2,id3
  offboard restore --report ./reports/2026-11-23 --all`

const restoreExits = `0 every restoration ended restored, already present or planned
1 at least one restoration failed
2 usage error, a journal refused (altered, copied, unauthenticated) or a name no row of the run carries; nothing changed
3 --max-removals: more restorations than it allows; nothing changed
4 interrupted (SIGINT, SIGTERM or --timeout); report written`

const watchLong = `Re-checks every principal a report under --reports ROOT shows removed within
--within (default 90d), less those restored since, and removes what they hold
again (detail "held again after offboarding on {date} (run {id})"). Writes the
usual report plus attestation.json and attestation.html, per principal clean,
removed-again, held (access the job deliberately leaves, and why) or failed, into
--report (default {ROOT}/watch/{UTC date}). --reports is where the run reports
are read; --report is where the watch writes its own.`

const watchExamples = `  offboard watch --reports ./reports
  offboard watch --reports https://acct.blob.core.windows.net/reports/ \
      --within 30d --report ./watch-today`

const watchExits = `0 as run: nobody held anything again that could not be removed, and every report under ROOT was authenticated
1 as run (a removal failed), or any evidence under ROOT was refused as altered or unauthenticated
2 usage or configuration error; nothing changed
3 a guard stopped the watch; nothing changed
4 interrupted (SIGINT, SIGTERM or --timeout); report written`

const demoLong = `Runs the whole job against an embedded simulated tenant, with a generated
sample CSV: no Azure account needed. Then a colleague re-grants one offboarded
principal a directory role, and offboard watch removes it again. With --tenants
2, two simulated tenants side by side, each run with its own --tenant, and a
token of one is shown refused for the other's report.`

const demoExamples = `  offboard demo
  offboard demo --dir ./demo --tenants 2`

const demoExits = `0 the demo showed what it should (the sample's invalid lines included)
1 something it should show did not hold
2 usage error`

const simulateLong = `Serves a simulated tenant (Graph and ARM over HTTP, on loopback) until
interrupted, for trying the job by hand and for benchmarks. It prints the token
to pass as OFFBOARD_STATIC_TOKEN, the sample CSV it wrote and the command to run.
Its request counts are at GET /_sim/stats and printed when it stops.`

const simulateExamples = `  offboard simulate --principals 50
  offboard simulate --shape bench --principals 1200 --per-principal 1 \
      --profile strict
  offboard simulate --shape azure --principals 300 --subscriptions 10 \
      --arm-filter-required`

const simulateExits = `0 stopped (SIGINT or SIGTERM)
2 usage error, or the address cannot be listened on`

const completionLong = `Prints a completion script for bash, zsh, fish or PowerShell: the
commands, each command's flags, the values of --cloud, --sources, --log-format,
--output, --shape and --keys, and paths after --input, --report, --reports,
--processed, --csv and --dir.`

const completionExamples = `  # bash (or save it as /etc/bash_completion.d/offboard)
  source <(offboard completion bash)
  # zsh (or save it as _offboard in a directory of $fpath)
  source <(offboard completion zsh)
  # fish (or save it as ~/.config/fish/completions/offboard.fish)
  offboard completion fish | source
  # PowerShell (or add the line to $PROFILE)
  offboard completion powershell | Out-String | Invoke-Expression`
