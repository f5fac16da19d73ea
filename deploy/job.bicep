// offboard as a scheduled Azure Container Apps job: a user-assigned managed
// identity, a Container Apps environment, a storage account whose Azure
// Files share holds HR's drop folder and the reports, and the job itself.
// Grant the identity its Graph application permissions and its Azure role
// afterwards (see deploy/README.md).

@description('Name prefix of every resource.')
param name string = 'offboard'

@description('Region.')
param location string = resourceGroup().location

@description('Container image, e.g. myregistry.azurecr.io/offboard:1.0.0.')
param image string

@description('Nightly schedule, five cron fields, UTC.')
param cronExpression string = '0 2 * * *'

@description('Longest expected run, in seconds; the container gets SIGTERM then.')
@minValue(600)
param replicaTimeout int = 7200

@description('OFFBOARD_SOURCES')
param sources string = 'directory,pim,groups'

@description('OFFBOARD_AZURE_SCOPES (needed with the azure source).')
param azureScopes string = ''

@description('OFFBOARD_PROTECT: break-glass object ids, comma-separated.')
param protect string

@description('OFFBOARD_MAX_REMOVALS')
param maxRemovals int = 1000

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

resource files 'Microsoft.Storage/storageAccounts/fileServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-01-01' = {
  parent: files
  name: 'offboard'
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

resource envStorage 'Microsoft.App/managedEnvironments/storages@2024-03-01' = {
  parent: env
  name: 'offboard'
  properties: {
    azureFile: {
      accountName: storage.name
      accountKey: storage.listKeys().keys[0].value
      shareName: share.name
      accessMode: 'ReadWrite'
    }
  }
}

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
      triggerType: 'Schedule'
      scheduleTriggerConfig: {
        cronExpression: cronExpression
        parallelism: 1
        replicaCompletionCount: 1
      }
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
            { name: 'OFFBOARD_INPUT', value: '/mnt/offboard/incoming/departures.csv' }
            { name: 'OFFBOARD_REPORT', value: '/mnt/offboard/reports/latest' }
            { name: 'OFFBOARD_SOURCES', value: sources }
            { name: 'OFFBOARD_AZURE_SCOPES', value: azureScopes }
            { name: 'OFFBOARD_PROTECT', value: protect }
            { name: 'OFFBOARD_MAX_REMOVALS', value: string(maxRemovals) }
            { name: 'OFFBOARD_LOG_FORMAT', value: 'json' }
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
          volumeMounts: [ { volumeName: 'offboard', mountPath: '/mnt/offboard' } ]
        }
      ]
      volumes: [ { name: 'offboard', storageType: 'AzureFile', storageName: envStorage.name } ]
    }
  }
}

output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output jobName string = job.name
