metadata description = 'The storage account (identity only: no shared keys, no public blobs, TLS 1.2, HTTPS), every table, queue and container the app uses, the Flex deployment container, and the data roles of the app identity.'

param name string
param location string
param tags object

@description('Tables the app uses (exactly the names it registers; see Storage/StorageClients.cs StorageResource).')
param tables string[]

@description('Queues the app uses, including each queue-triggered function\'s "-poison" queue.')
param queues string[]

@description('Blob containers the app uses.')
param containers string[]

@description('Container that holds the Flex Consumption deployment package.')
param deploymentContainer string

@description('Name of the app\'s user-assigned identity (in this resource group).')
param appIdentityName string

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: appIdentityName
}

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource appContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [for container in concat(containers, [deploymentContainer]): {
  parent: blobService
  name: container
  properties: { publicAccess: 'None' }
}]

resource appQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [for queue in queues: {
  parent: queueService
  name: queue
}]

resource appTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = [for table in tables: {
  parent: tableService
  name: table
}]

resource dataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in items(roles): {
  scope: storage
  name: guid(storage.id, appIdentity.id, role.value)
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
  }
}]

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
