// offboard as an Azure Container Apps job: a user-assigned managed
// identity, a Container Apps environment, a storage account with three
// blob containers (`incoming`, HR's drop folder, `processed`, where a file
// goes once it has finished cleanly, and `reports`), and the job
// itself, started nightly (trigger 'Schedule') or when a CSV lands in
// `incoming` (trigger 'Event'), and a second job, the watch (`offboard
// watch`), nightly after it. The identity gets Storage Blob Data
// Contributor on the account here; grant it its Graph application
// permissions and its Azure role afterwards (see deploy/README.md).

@description('Name prefix of every resource.')
param name string = 'offboard'

@description('Region.')
param location string = resourceGroup().location

@description('Container image, e.g. myregistry.azurecr.io/offboard:1.0.0.')
param image string

@description('Schedule: nightly at cronExpression. Event: whenever incoming holds a CSV, polled every pollingInterval seconds.')
@allowed([ 'Schedule', 'Event' ])
param trigger string = 'Schedule'

@description('Nightly schedule, five cron fields, UTC (trigger Schedule).')
param cronExpression string = '0 2 * * *'

@description('How often, in seconds, the Event trigger looks at incoming.')
param pollingInterval int = 300

@description('Longest expected run, in seconds; the container gets SIGTERM then.')
@minValue(600)
param replicaTimeout int = 7200

@description('OFFBOARD_SOURCES: directory, pim, groups (the default), azure, keyvault (e.g. directory,pim,groups,azure,keyvault).')
param sources string = 'directory,pim,groups'

@description('OFFBOARD_AZURE_SCOPES (needed with the azure and keyvault sources).')
param azureScopes string = ''

@description('OFFBOARD_PROTECT: break-glass object ids, comma-separated.')
param protect string

@description('OFFBOARD_MAX_REMOVALS')
param maxRemovals int = 1000

@description('The watch (offboard watch): nightly at this cron expression, UTC, after the drop-folder job (watchCronExpression after cronExpression).')
param watchCronExpression string = '0 4 * * *'

@description('The watch re-checks the principals offboarded by runs started this long ago or later (--within: Nd or a Go duration).')
param watchWithin string = '90d'

@description('E-mail address told when an execution of the job fails (any exit code but 0: rows failed or invalid, a guard, an interruption, a crash).')
param alertEmail string
@description('OFFBOARD_JOURNAL_KEY: the key that authenticates the journal and summaries (at least 32 characters; openssl rand -base64 32). Whoever can write the reports container must not know it. Keep it: without it, restore refuses the reports written under it.')
@secure()
@minLength(32)
param journalKey string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
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

// HR's drop folder: every CSV at its root is one night's input.
resource incoming 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobs
  name: 'incoming'
}

// Where a file of incoming goes once its run finished cleanly, as
// {name}.{run id}.csv (OFFBOARD_PROCESSED): incoming holds only what is
// new or failed, so the Event trigger starts executions for those only.
resource processed 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobs
  name: 'processed'
}

// One folder per input file: reports/{file name without .csv}/.
resource reports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobs
  name: 'reports'
}

// The job reads the input, writes reports and takes its run lock (a blob
// lease) with its own identity: no key in the job's configuration.
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

// The Event trigger's scaler (KEDA azure-blob) counts the blobs in
// incoming with the account's connection string, kept as a secret of the
// job; the job itself never sees it.
var scalerSecret = 'storage-connection'
// The journal key, a secret of the job given to the container as
// OFFBOARD_JOURNAL_KEY (secretRef): it is in no plain setting, and the
// reports container's writers do not hold it.
var journalKeySecret = 'journal-key'
var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'

resource job 'Microsoft.App/jobs@2024-03-01' = {
  name: '${name}-job'
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
        cronExpression: cronExpression
        parallelism: 1
        replicaCompletionCount: 1
      } : null
      // KEDA's azure-blob rule counts blobs, not new ones: a file that
      // finished cleanly leaves incoming for processed, so executions start
      // for new files and for failed ones (kept for the next run) only.
      // One execution at a time; the run lock refuses a second anyway.
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
                blobCount: '1'
              }
              auth: [ { secretRef: scalerSecret, triggerParameter: 'connection' } ]
            }
          ]
        }
      } : null
      secrets: concat([ { name: journalKeySecret, value: journalKey } ],
        trigger == 'Event' ? [ { name: scalerSecret, value: storageConnection } ] : [])
      replicaTimeout: replicaTimeout
      // Reruns are the job's own business: a rerun into the same report
      // directory finishes what a failed run left.
      replicaRetryLimit: 0
    }
    template: {
      containers: [
        {
          name: 'offboard'
          image: image
          args: [ 'run' ]
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
            // A drop folder: every CSV in incoming, oldest first, each into
            // reports/{name}/, skipping those whose report says done.
            { name: 'OFFBOARD_INPUT', value: '${storage.properties.primaryEndpoints.blob}${incoming.name}/' }
            { name: 'OFFBOARD_REPORT', value: '${storage.properties.primaryEndpoints.blob}${reports.name}/' }
            // A file that finished cleanly moves there (server-side copy,
            // verified, then deleted from incoming).
            { name: 'OFFBOARD_PROCESSED', value: '${storage.properties.primaryEndpoints.blob}${processed.name}/' }
            { name: 'OFFBOARD_SOURCES', value: sources }
            { name: 'OFFBOARD_AZURE_SCOPES', value: azureScopes }
            { name: 'OFFBOARD_PROTECT', value: protect }
            { name: 'OFFBOARD_MAX_REMOVALS', value: string(maxRemovals) }
            { name: 'OFFBOARD_LOG_FORMAT', value: 'json' }
            // Authenticates journal lines and summaries (SECURITY.md).
            { name: 'OFFBOARD_JOURNAL_KEY', secretRef: journalKeySecret }
            // The run's own deadline, five minutes before the platform's:
            // it stops starting removals, leaves what was cut off planned,
            // writes the report and exits 4, so the rerun knows where it
            // stopped instead of finding a container killed mid-write.
            { name: 'OFFBOARD_TIMEOUT', value: '${replicaTimeout - 300}s' }
            // A soft memory limit at 80 % of the container's 1 GiB: the
            // collector works harder near it instead of the container
            // being killed for memory (BENCHMARKS.md, footprint).
            { name: 'GOMEMLIMIT', value: '800MiB' }
          ]
        }
      ]
    }
  }
  dependsOn: [ blobAccess ]
}

// The watch: the same image with `watch` as its command, nightly after the
// drop-folder job. It reads the reports the job wrote under reports/ (only
// records that verify under the journal key), re-checks every principal
// offboarded within watchWithin, removes what they hold again and writes
// reports/watch/{UTC date}/attestation.json and attestation.html.
resource watchJob 'Microsoft.App/jobs@2024-03-01' = {
  name: '${name}-watch'
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
        cronExpression: watchCronExpression
        parallelism: 1
        replicaCompletionCount: 1
      }
      secrets: [ { name: journalKeySecret, value: journalKey } ]
      replicaTimeout: replicaTimeout
      replicaRetryLimit: 0
    }
    template: {
      containers: [
        {
          name: 'offboard'
          image: image
          args: [ 'watch', '--reports', '${storage.properties.primaryEndpoints.blob}${reports.name}/', '--within', watchWithin ]
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
            { name: 'OFFBOARD_SOURCES', value: sources }
            { name: 'OFFBOARD_AZURE_SCOPES', value: azureScopes }
            { name: 'OFFBOARD_PROTECT', value: protect }
            { name: 'OFFBOARD_MAX_REMOVALS', value: string(maxRemovals) }
            { name: 'OFFBOARD_LOG_FORMAT', value: 'json' }
            { name: 'OFFBOARD_JOURNAL_KEY', secretRef: journalKeySecret }
            { name: 'OFFBOARD_TIMEOUT', value: '${replicaTimeout - 300}s' }
            { name: 'GOMEMLIMIT', value: '800MiB' }
          ]
        }
      ]
    }
  }
  dependsOn: [ blobAccess ]
}

// Someone is told when a night fails. The metric is the job's
// `Executions` (Microsoft.App/jobs, dimension `state`: an execution's
// running state, `Failed` when its replica exited with a code other
// than 0, replicaRetryLimit being 0). The job exits 1 when a row failed
// or is invalid, 3 when a guard stopped it, 4 when it was interrupted.
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

resource failedExecution 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${name}-execution-failed'
  location: 'global'
  properties: {
    description: 'An execution of ${job.name} failed: read reports/{file}/summary.html, fix what it says, start the job again (deploy/README.md, 5).'
    severity: 1
    enabled: true
    scopes: [ job.id ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // One e-mail per failed night; it resolves by itself once no
    // execution has failed for a window.
    autoMitigate: true
    criteria: {
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
    actions: [ { actionGroupId: alertGroup.id } ]
  }
}

// The watch fails (exit 1) when a watched principal could not be checked
// or what it holds again could not be removed; 3 when a guard stopped it.
resource failedWatch 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${name}-watch-failed'
  location: 'global'
  properties: {
    description: 'An execution of ${watchJob.name} failed: read reports/watch/{date}/attestation.html (the failed principals and why), fix it, start the watch again (deploy/README.md, 6).'
    severity: 1
    enabled: true
    scopes: [ watchJob.id ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
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
    actions: [ { actionGroupId: alertGroup.id } ]
  }
}

output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output jobName string = job.name
output watchJobName string = watchJob.name
output storageAccount string = storage.name
output failedExecutionAlert string = failedExecution.name
