metadata description = 'Key Vault in RBAC mode with the app\'s secrets (Stripe secret key, webhook signing secrets, customer-token signing key); the app identity reads them through Key Vault references.'

param name string
param location string
param tags object

@description('Name of the app\'s user-assigned identity in this resource group (gets Key Vault Secrets User).')
param appIdentityName string

@description('Optional: the deploying user (gets Key Vault Secrets Officer, to rotate secrets). Empty = none.')
param operatorPrincipalId string = ''

@secure()
param stripeSecretKey string

@secure()
param stripeWebhookSecret string

@secure()
@description('Optional second webhook signing secret, accepted alongside the first while a webhook endpoint secret is rotated.')
param stripeWebhookSecretPrevious string = ''

@secure()
param customerTokenSigningKey string

@description('True when stripeWebhookSecretPrevious is set (a plain flag, so no output depends on a secure value).')
param hasPreviousWebhookSecret bool = false

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: appIdentityName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource stripeSecretKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'stripe-secret-key'
  properties: { value: stripeSecretKey }
}

resource stripeWebhookSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'stripe-webhook-secret'
  properties: { value: stripeWebhookSecret }
}

resource stripeWebhookSecretPreviousSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (hasPreviousWebhookSecret) {
  parent: vault
  name: 'stripe-webhook-secret-previous'
  properties: { value: stripeWebhookSecretPrevious }
}

resource customerTokenSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'customer-token-signing-key'
  properties: { value: customerTokenSigningKey }
}

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, appIdentity.id, secretsUser)
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

resource operatorManagesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  scope: vault
  name: guid(vault.id, operatorPrincipalId, secretsOfficer)
  properties: {
    principalId: operatorPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
  }
}

// Versionless secret URIs: the app picks up a rotated secret on its next Key Vault reference refresh (or restart).
output name string = vault.name
output stripeSecretKeyUri string = stripeSecretKeySecret.properties.secretUri
output stripeWebhookSecretUri string = stripeWebhookSecretSecret.properties.secretUri
output stripeWebhookSecretPreviousUri string = hasPreviousWebhookSecret ? stripeWebhookSecretPreviousSecret!.properties.secretUri : ''
output customerTokenSigningKeyUri string = customerTokenSigningKeySecret.properties.secretUri
