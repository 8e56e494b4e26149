// BillingFunctions on Azure: one resource group per azd environment with a Flex Consumption function app running the
// ASP.NET Core custom handler, its storage (identity only), Key Vault for secrets, and Application Insights.
// Subscription scope because azd's convention is that `azd up` creates the environment's resource group itself;
// everything else is deployed into that group by the modules under app/.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name; names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Azure region for every resource (one that offers Flex Consumption).')
param location string

@description('Object id of the user running azd (gets Key Vault Secrets Officer to rotate secrets). Empty = none.')
param principalId string = ''

@secure()
@description('Stripe secret (sk_…) or restricted (rk_…) API key. Stored in Key Vault.')
param stripeSecretKey string

@secure()
@description('Signing secret (whsec_…) of the Stripe webhook endpoint. Stored in Key Vault.')
param stripeWebhookSecret string

@secure()
@description('Optional: the previous webhook signing secret, accepted too while the endpoint secret is being rotated.')
param stripeWebhookSecretPrevious string = ''

@secure()
@description('Base64 of at least 32 random bytes: signs customer tokens. Stored in Key Vault.')
param customerTokenSigningKey string

@description('Secret API keys as "id:sha256hex" pairs separated by commas (only hashes; the keys are never deployed).')
param apiKeys string

@description('Browser origins allowed by CORS, separated by commas. Empty = none.')
param corsOrigins string = ''

@description('Invoice numbering: per_customer ({INVOICE_PREFIX}-0001) or account (INV-{yyyy}-000001, gapless across the account).')
@allowed(['per_customer', 'account'])
param invoiceNumbering string = 'per_customer'

@description('Seller name printed on invoice PDFs.')
param sellerName string = 'Billing'

@description('Seller address printed on invoice PDFs, lines separated by ";".')
param sellerAddress string = ''

@description('Seller tax id printed on invoice PDFs, e.g. "VAT GB123456789".')
param sellerTaxId string = ''

@description('Seller email printed on invoice PDFs.')
param sellerEmail string = ''

var tags = { 'azd-env-name': environmentName }
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var serviceName = 'api'
var deploymentContainer = 'app-package'
var identityName = 'id-${resourceToken}'

// Every table, queue and container the app registers (StorageResource). The consistency tests compare these lists
// with the real app's registrations and its function.json queue triggers.
var storageTables = [
  'Billing'
  'Idempotency'
  'Audit'
  'Schedule'
  'Events'
  'StripeEvents'
]
var storageQueues = [
  'work-items'
  'work-items-poison'
  'stripe-events'
  'stripe-events-poison'
]
var storageContainers = [
  'invoices'
  'locks'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  scope: rg
  name: 'storage'
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    tables: storageTables
    queues: storageQueues
    containers: storageContainers
    deploymentContainer: deploymentContainer
    appIdentityName: identityName
  }
  dependsOn: [identity]
}

module vault 'app/keyvault.bicep' = {
  scope: rg
  name: 'keyvault'
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    appIdentityName: identityName
    operatorPrincipalId: principalId
    stripeSecretKey: stripeSecretKey
    stripeWebhookSecret: stripeWebhookSecret
    stripeWebhookSecretPrevious: stripeWebhookSecretPrevious
    customerTokenSigningKey: customerTokenSigningKey
    hasPreviousWebhookSecret: !empty(stripeWebhookSecretPrevious)
  }
  dependsOn: [identity]
}

// App settings: every setting the app reads (see the README's Configuration table). Secrets are Key Vault references
// resolved with the user-assigned identity. FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION are deliberately
// absent: on Flex Consumption the runtime comes from functionAppConfig.
var appSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  Storage__NamePrefix: ''
  // Every table, queue and container below is created by this template; the app skips creating them at start-up.
  Storage__CreateResources: 'false'
  Auth__CustomerTokenSigningKey: '@Microsoft.KeyVault(SecretUri=${vault.outputs.customerTokenSigningKeyUri})'
  Auth__CustomerTokenLifetime: '01:00:00'
  Auth__RateLimitPerSecond: '100'
  Http__MaxRequestBodyBytes: '262144'
  LocalHost__Enabled: 'false'
  TestClocks__Enabled: 'false'
  Notifications__AllowHttp: 'false'
  Notifications__DeliveryTimeout: '00:00:10'
  Dunning__RetryDays: '1,3,5,7'
  Dunning__ExhaustedOutcome: 'unpaid'
  Dunning__MarkUncollectible: 'false'
  Disputes__ReminderOffsets: '72h,24h'
  Disputes__AutoSubmitStagedEvidence: 'false'
  Disputes__StopDunningOnDispute: 'true'
  Disputes__SubscriptionPolicy: 'none'
  Telemetry__ConsoleExporter: 'false'
  Stripe__SecretKey: '@Microsoft.KeyVault(SecretUri=${vault.outputs.stripeSecretKeyUri})'
  Stripe__WebhookSecrets__0: '@Microsoft.KeyVault(SecretUri=${vault.outputs.stripeWebhookSecretUri})'
  Stripe__WebhookTolerance: '300'
  Stripe__MaxRetries: '3'
  Stripe__RetryBaseDelay: '00:00:00.250'
  Stripe__RetryMaxDelay: '00:00:04'
  Stripe__RequestTimeout: '00:00:30'
  Invoicing__Numbering: invoiceNumbering
  Invoicing__AccountNumberPrefix: 'INV'
  Invoicing__SellerName: sellerName
  Invoicing__SellerAddress: sellerAddress
  Invoicing__SellerTaxId: sellerTaxId
  Invoicing__SellerEmail: sellerEmail
}

var apiKeyEntries = filter(map(split(apiKeys, ','), entry => trim(entry)), entry => !empty(entry))
var apiKeySettings = reduce(range(0, length(apiKeyEntries)), {}, (all, i) => union(all, {
  'Auth__ApiKeys__${i}__Id': split(apiKeyEntries[i], ':')[0]
  'Auth__ApiKeys__${i}__Sha256': last(split(apiKeyEntries[i], ':'))
}))

var corsOriginEntries = filter(map(split(corsOrigins, ','), origin => trim(origin)), origin => !empty(origin))
var corsSettings = toObject(range(0, length(corsOriginEntries)), i => 'Auth__CorsOrigins__${i}', i => corsOriginEntries[i])

var previousWebhookSecretSettings = empty(stripeWebhookSecretPrevious) ? {} : {
  Stripe__WebhookSecrets__1: '@Microsoft.KeyVault(SecretUri=${vault.outputs.stripeWebhookSecretPreviousUri})'
}

module app 'app/functionapp.bicep' = {
  scope: rg
  name: 'functionapp'
  params: {
    planName: 'plan-${resourceToken}'
    appName: 'func-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainer: deploymentContainer
    appSettings: union(appSettings, apiKeySettings, corsSettings, previousWebhookSecretSettings)
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output SERVICE_API_URL string = 'https://${app.outputs.defaultHostName}'
output STRIPE_WEBHOOK_URL string = 'https://${app.outputs.defaultHostName}/api/webhooks/stripe'
