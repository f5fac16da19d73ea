// offboard as Azure Container Apps jobs, one deployment for one tenant or
// many (issue 31): a user-assigned managed identity, a Key Vault holding
// the journal key, a Container Apps environment, a storage account with
// three blob containers (`incoming`, HR's drop folders, `processed`, where
// a file goes once it has finished cleanly, and `reports`), and, for each
// entry of `tenants`, a job that runs nightly (trigger 'Schedule') or
// when a CSV lands under its prefix (trigger 'Event'), a watch job
// (`offboard watch`) nightly after it, and an alert on each. Each
// tenant's jobs have its tenant id fixed (OFFBOARD_TENANT_ID) and read
// and write only under its own prefixes, incoming/{name}/,
// processed/{name}/ and reports/{name}/: a file dropped under one
// tenant's prefix can only run against that tenant. Adding a tenant is
// one entry in `tenants`. The identity gets Storage Blob Data Contributor
// on the account, AcrPull on the registry and Key Vault Secrets User on
// the vault here; grant it (or the multi-tenant application) its Graph
// permissions and Azure role afterwards (see deploy/README.md).

@description('Name prefix of every resource.')
param name string = 'offboard'

@description('Region.')
param location string = resourceGroup().location

@description('Name of the Azure Container Registry, in this resource group, that holds the image (deploy/README.md, step 1). The jobs pull from it with the managed identity (AcrPull).')
param registryName string

@description('Image in that registry, e.g. offboard:1.0.0.')
param image string

@description('''The tenants the deployment cleans, one entry each:
{ "id": tenant id (GUID), "name": short lowercase name (letters, digits, '-'; at most 12 characters): the prefix of its drop folder, reports and jobs,
  "sources": OFFBOARD_SOURCES, "azureScopes": OFFBOARD_AZURE_SCOPES ('' without the azure source), "protect": its break-glass object ids, comma-separated,
  "cronExpression": its nightly schedule (UTC), "watchCronExpression": its watch's, after it }.''')
param tenants array

@description('How the jobs authenticate in each tenant. default: the managed identity itself (DefaultAzureCredential): only the tenant the deployment is in. federated: the multi-tenant application appClientId, whose client assertion is the managed identity\'s token (OFFBOARD_AUTH=federated): any tenant whose administrator consented to it, with no secret anywhere.')
@allowed([ 'default', 'federated' ])
param auth string = 'default'

@description('With auth federated: the client id of the multi-tenant application, registered in this tenant, whose federated identity credential trusts the managed identity (deploy/README.md, MSP walkthrough).')
param appClientId string = ''

@description('Schedule: nightly at each tenant\'s cronExpression. Event: whenever a tenant\'s incoming/{name}/ holds a CSV, polled every pollingInterval seconds.')
@allowed([ 'Schedule', 'Event' ])
param trigger string = 'Schedule'

@description('How often, in seconds, the Event trigger looks at incoming.')
param pollingInterval int = 300

@description('Longest expected run, in seconds; the container gets SIGTERM then.')
@minValue(600)
param replicaTimeout int = 7200

@description('OFFBOARD_MAX_REMOVALS')
param maxRemovals int = 1000

@description('The watch re-checks the principals offboarded by runs started this long ago or later (--within: Nd or a Go duration).')
param watchWithin string = '90d'

@description('E-mail address told when an execution of a job fails (any exit code but 0: rows failed or invalid, a guard, an interruption, a crash).')
param alertEmail string

@description('Where the journal key lives. keyvault (default): a secret of the Key Vault the template creates, referenced by the jobs with the managed identity (Container Apps Key Vault references): no job holds its value. secret: a plain secret of each job.')
@allowed([ 'keyvault', 'secret' ])
param journalKeyStore string = 'keyvault'

@description('OFFBOARD_JOURNAL_KEY: the key that authenticates the journal and summaries (at least 32 characters; openssl rand -base64 32). Whoever can write the reports container must not know it. Keep it: without it, restore refuses the reports written under it.')
@secure()
@minLength(32)
param journalKey string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

// The registry step 1 created and built the image into: the jobs pull
// from it with the identity (configuration.registries), which AcrPull
// allows.
resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registryAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identity.id, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: toLower(replace('${name}${uniqueString(resourceGroup().id)}', '-', ''))
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

// HR's drop folders: every CSV under incoming/{tenant name}/ is one
// night's input for that tenant.
resource incoming 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobs
  name: 'incoming'
}

// Where a file goes once its run finished cleanly, as
// processed/{tenant name}/{name}.{run id}.csv (OFFBOARD_PROCESSED):
// incoming holds only what is new or failed, so the Event trigger starts
// executions for those only.
resource processed 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobs
  name: 'processed'
}

// One folder per tenant and input file: reports/{tenant name}/{file name
// without .csv}/.
resource reports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobs
  name: 'reports'
}

// The jobs read the input, write reports and take their run lock (a blob
// lease) with the identity: no key in their configuration.
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource blobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, blobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The journal key, in a vault whose data plane is governed by Azure RBAC:
// the identity reads it (Key Vault Secrets User) and Container Apps hands
// it to the container; nobody who can write `reports` need read it.
var useKeyVault = journalKeyStore == 'keyvault'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = if (useKeyVault) {
  name: take('${name}kv${uniqueString(resourceGroup().id)}', 24)
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

resource journalKeyInVault 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (useKeyVault) {
  parent: vault
  name: 'journal-key'
  properties: { value: journalKey }
}

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vaultAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useKeyVault) {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

// The Event trigger's scaler (KEDA azure-blob) counts the blobs under a
// tenant's prefix with the account's connection string, kept as a secret
// of the job; the job itself never sees it.
var scalerSecret = 'storage-connection'
// The journal key, a secret of each job given to the container as
// OFFBOARD_JOURNAL_KEY (secretRef): a Key Vault reference (the vault's
// secret, read with the identity) by default, else the value itself.
var journalKeySecret = 'journal-key'
var journalKeySecretDef = useKeyVault ? {
  name: journalKeySecret
  keyVaultUrl: '${vault.properties.vaultUri}secrets/journal-key'
  identity: identity.id
} : { name: journalKeySecret, value: journalKey }
var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
var blobEndpoint = storage.properties.primaryEndpoints.blob

// How the jobs authenticate (README, Authentication): default, the
// identity's own token (its tenant only); federated, the multi-tenant
// application's token in each tenant, asserted with the identity's.
var authEnv = auth == 'federated' ? [
  { name: 'OFFBOARD_AUTH', value: 'federated' }
  { name: 'AZURE_CLIENT_ID', value: appClientId }
  { name: 'OFFBOARD_MANAGED_IDENTITY_CLIENT_ID', value: identity.properties.clientId }
] : [
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
]

// Everything a tenant's run and watch share, less what names the tenant.
var commonEnv = [
  { name: 'OFFBOARD_MAX_REMOVALS', value: string(maxRemovals) }
  { name: 'OFFBOARD_LOG_FORMAT', value: 'json' }
  // Authenticates journal lines and summaries (SECURITY.md).
  { name: 'OFFBOARD_JOURNAL_KEY', secretRef: journalKeySecret }
  // The run's own deadline, five minutes before the platform's: it stops
  // starting removals, leaves what was cut off planned, writes the report
  // and exits 4, so the rerun knows where it stopped instead of finding a
  // container killed mid-write.
  { name: 'OFFBOARD_TIMEOUT', value: '${replicaTimeout - 300}s' }
  // A soft memory limit at 80 % of the container's 1 GiB: the collector
  // works harder near it instead of the container being killed for memory
  // (BENCHMARKS.md, footprint).
  { name: 'GOMEMLIMIT', value: '800MiB' }
]

// The jobs pull the image with the identity.
var registries = [ { server: registry.properties.loginServer, identity: identity.id } ]

// One job per tenant. Its tenant id is fixed: a token of any other
// tenant is refused before any request (exit 2), and so is a report of
// another tenant's, so what is dropped under incoming/{name}/ acts on
// tenant {id} or not at all.
resource job 'Microsoft.App/jobs@2024-03-01' = [for t in tenants: {
  name: '${name}-${t.name}'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: env.id
    configuration: {
      triggerType: trigger
      scheduleTriggerConfig: trigger == 'Schedule' ? {
        cronExpression: t.cronExpression
        parallelism: 1
        replicaCompletionCount: 1
      } : null
      // KEDA's azure-blob rule counts blobs under the tenant's prefix, not
      // new ones: a file that finished cleanly leaves incoming for
      // processed, so executions start for new files and for failed ones
      // (kept for the next run) only. One execution at a time; the run
      // lock refuses a second anyway.
      eventTriggerConfig: trigger == 'Event' ? {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: 1
          pollingInterval: pollingInterval
          rules: [
            {
              name: 'incoming-csv'
              type: 'azure-blob'
              metadata: {
                accountName: storage.name
                blobContainerName: incoming.name
                blobPrefix: '${t.name}/'
                blobCount: '1'
              }
              auth: [ { secretRef: scalerSecret, triggerParameter: 'connection' } ]
            }
          ]
        }
      } : null
      secrets: concat([ journalKeySecretDef ],
        trigger == 'Event' ? [ { name: scalerSecret, value: storageConnection } ] : [])
      registries: registries
      replicaTimeout: replicaTimeout
      // Reruns are the job's own business: a rerun into the same report
      // directory finishes what a failed run left.
      replicaRetryLimit: 0
    }
    template: {
      containers: [
        {
          name: 'offboard'
          image: '${registry.properties.loginServer}/${image}'
          args: [ 'run' ]
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: concat(authEnv, commonEnv, [
            { name: 'OFFBOARD_TENANT_ID', value: t.id }
            // A drop folder: every CSV under incoming/{name}/, oldest
            // first, each into reports/{name}/{file}/, skipping those
            // whose report says done.
            { name: 'OFFBOARD_INPUT', value: '${blobEndpoint}${incoming.name}/${t.name}/' }
            { name: 'OFFBOARD_REPORT', value: '${blobEndpoint}${reports.name}/${t.name}/' }
            // A file that finished cleanly moves there (server-side copy,
            // verified, then deleted from incoming).
            { name: 'OFFBOARD_PROCESSED', value: '${blobEndpoint}${processed.name}/${t.name}/' }
            { name: 'OFFBOARD_SOURCES', value: t.sources }
            { name: 'OFFBOARD_AZURE_SCOPES', value: t.azureScopes }
            { name: 'OFFBOARD_PROTECT', value: t.protect }
          ])
        }
      ]
    }
  }
  dependsOn: [ blobAccess, registryAccess, vaultAccess, journalKeyInVault ]
}]

// The watch of each tenant: the same image with `watch` as its command,
// nightly after the tenant's job. It reads the reports under
// reports/{name}/ (only records that verify under the journal key, and
// only the tenant's: a report of another tenant stops it, exit 2),
// re-checks every principal offboarded within watchWithin, removes what
// they hold again and writes reports/{name}/watch/{UTC date}/attestation.json
// and attestation.html.
resource watchJob 'Microsoft.App/jobs@2024-03-01' = [for t in tenants: {
  name: '${name}-${t.name}-watch'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: env.id
    configuration: {
      triggerType: 'Schedule'
      scheduleTriggerConfig: {
        cronExpression: t.watchCronExpression
        parallelism: 1
        replicaCompletionCount: 1
      }
      secrets: [ journalKeySecretDef ]
      registries: registries
      replicaTimeout: replicaTimeout
      replicaRetryLimit: 0
    }
    template: {
      containers: [
        {
          name: 'offboard'
          image: '${registry.properties.loginServer}/${image}'
          args: [ 'watch', '--reports', '${blobEndpoint}${reports.name}/${t.name}/', '--within', watchWithin ]
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: concat(authEnv, commonEnv, [
            { name: 'OFFBOARD_TENANT_ID', value: t.id }
            { name: 'OFFBOARD_SOURCES', value: t.sources }
            { name: 'OFFBOARD_AZURE_SCOPES', value: t.azureScopes }
            { name: 'OFFBOARD_PROTECT', value: t.protect }
          ])
        }
      ]
    }
  }
  dependsOn: [ blobAccess, registryAccess, vaultAccess, journalKeyInVault ]
}]

// Someone is told when a night fails, tenant by tenant: one alert per
// job, named after its tenant. The metric is the job's `Executions`
// (Microsoft.App/jobs, dimension `state`: an execution's running state,
// `Failed` when its replica exited with a code other than 0,
// replicaRetryLimit being 0). The job exits 1 when a row failed or is
// invalid, 2 when its configuration, input or tenant is wrong, 3 when a
// guard stopped it, 4 when it was interrupted.
resource alertGroup 'Microsoft.Insights/actionGroups@2022-04-01' = {
  name: '${name}-alerts'
  location: 'global'
  properties: {
    groupShortName: take(name, 12)
    enabled: true
    emailReceivers: [
      { name: 'operator', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

var failedCriteria = {
  'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
  allOf: [
    {
      criterionType: 'StaticThresholdCriterion'
      name: 'failed-executions'
      metricNamespace: 'Microsoft.App/jobs'
      metricName: 'Executions'
      dimensions: [ { name: 'state', operator: 'Include', values: [ 'Failed' ] } ]
      operator: 'GreaterThan'
      threshold: 0
      timeAggregation: 'Total'
    }
  ]
}

resource failedExecution 'Microsoft.Insights/metricAlerts@2018-03-01' = [for (t, i) in tenants: {
  name: '${name}-${t.name}-execution-failed'
  location: 'global'
  properties: {
    description: 'An execution of ${job[i].name} (tenant ${t.name}, ${t.id}) failed: read reports/${t.name}/{file}/summary.html, fix what it says, start the job again (deploy/README.md, 5).'
    severity: 1
    enabled: true
    scopes: [ job[i].id ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // One e-mail per failed night; it resolves by itself once no
    // execution has failed for a window.
    autoMitigate: true
    criteria: failedCriteria
    actions: [ { actionGroupId: alertGroup.id } ]
  }
}]

// The watch fails (exit 1) when a watched principal could not be checked
// or what it holds again could not be removed; 3 when a guard stopped it.
resource failedWatch 'Microsoft.Insights/metricAlerts@2018-03-01' = [for (t, i) in tenants: {
  name: '${name}-${t.name}-watch-failed'
  location: 'global'
  properties: {
    description: 'An execution of ${watchJob[i].name} (tenant ${t.name}, ${t.id}) failed: read reports/${t.name}/watch/{date}/attestation.html (the failed principals and why), fix it, start the watch again (deploy/README.md, 6).'
    severity: 1
    enabled: true
    scopes: [ watchJob[i].id ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: failedCriteria
    actions: [ { actionGroupId: alertGroup.id } ]
  }
}]

output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output storageAccount string = storage.name
output keyVaultName string = useKeyVault ? vault.name : ''
output jobNames array = [for (t, i) in tenants: job[i].name]
output watchJobNames array = [for (t, i) in tenants: watchJob[i].name]
