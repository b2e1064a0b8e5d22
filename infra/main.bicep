// Slotbridge infrastructure, deployed by `azd up` (or `az deployment sub create`).
// One resource group per environment holding: the function app (Flex Consumption, Python 3.11) and
// its user-assigned identity, a storage account (host, deployment package, tables, queues), a Key
// Vault for service secrets, Log Analytics + Application Insights, role assignments and alerts.
// Plain resource declarations only (no registry modules), so `bicep build` works offline.

targetScope = 'subscription'

@minLength(1)
@maxLength(54)
@description('Name of the azd environment; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Azure region for every resource; it must offer the Flex Consumption plan.')
param location string

@description('Object id of the operator running azd (AZURE_PRINCIPAL_ID); gets Key Vault Secrets Officer for infra/scripts. Empty: none.')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Kind of principal in principalId (a CI pipeline is a ServicePrincipal).')
param principalType string = 'User'

@description('Microsoft identity platform host (SLOTBRIDGE_AUTHORITY_HOST); national clouds change it.')
#disable-next-line no-hardcoded-env-urls
param authorityHost string = 'https://login.microsoftonline.com'

@description('Microsoft Graph base URL with its version (SLOTBRIDGE_GRAPH_BASE_URL); national clouds change it.')
#disable-next-line no-hardcoded-env-urls
param graphBaseUrl string = 'https://graph.microsoft.com/v1.0'

@description('Application (client) id of the Entra app registration (infra/scripts/register-app.sh). Empty until it exists.')
param clientId string = ''

@description('Key Vault secret holding the Entra app client secret (written by register-app.sh).')
param clientSecretName string = 'graph-client-secret'

@description('OAuth client id of the Google Cloud project (SLOTBRIDGE_GOOGLE_CLIENT_ID); empty: Google Calendar off.')
param googleClientId string = ''

@description('Key Vault secret holding the Google OAuth client secret (set by hand with the client id).')
param googleClientSecretName string = 'google-client-secret'

@description('Key Vault secret holding the token-cache data key (written by create-data-key.sh).')
param dataKeySecretName string = 'token-data-key'

@description('Public base URL when a custom domain fronts the app; empty: https://<app>.azurewebsites.net.')
param publicBaseUrl string = ''

@description('Prefix of every table name (SLOTBRIDGE_TABLE_PREFIX).')
param tablePrefix string = 'sb'

@description('Authority tenant (SLOTBRIDGE_TENANT): common (work and personal accounts), organizations, or a tenant id.')
param tenant string = 'common'

@description('Comma-separated origins of the product pages (SLOTBRIDGE_ALLOWED_ORIGINS): CORS, the popup postMessage target, allowed return URLs.')
param allowedOrigins string = ''

@description('Where a redirect-mode connect returns without an allowed returnUrl (SLOTBRIDGE_DEFAULT_RETURN_URL).')
param defaultReturnUrl string = ''

@description('The product webhook for "action required" messages (SLOTBRIDGE_PRODUCT_WEBHOOK_URL); empty keeps them unsent.')
param productWebhookUrl string = ''

@description('How many calendar accounts (Outlook and Google together) one user may connect (SLOTBRIDGE_MAX_ACCOUNTS_PER_USER).')
param maxAccountsPerUser string = '2'

@description('Minutes a chosen calendar may stay unreadable before calendar.unavailable (calendar_unreadable) is posted (SLOTBRIDGE_CALENDAR_UNREADABLE_AFTER_MINUTES).')
param calendarUnreadableAfterMinutes string = '60'

@description('Where availability reads busy time (SLOTBRIDGE_AVAILABILITY_SOURCE): cached, or live (the kill switch for the busy cache).')
@allowed([
  'cached'
  'live'
])
param availabilitySource string = 'cached'

@description('Days ahead the busy cache covers (SLOTBRIDGE_SYNC_HORIZON_DAYS).')
param syncHorizonDays string = '90'

@description('Subscriptions expiring within this many minutes are renewed (SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES).')
param subscriptionRenewalWindowMinutes string = '2880'

@description('Tables of the record kinds (named <tablePrefix><kind>); slotlocks holds each host\'s slot locks and its calendars\' sync state. The app creates missing tables on first use.')
param tableKinds array = [
  'connections'
  'accountlinks'
  'tokencaches'
  'pendingflows'
  'calendarsettings'
  'accountlimits'
  'bookinglinks'
  'linkhosts'
  'roundrobin'
  'bookings'
  'bookingevents'
  'bookingaudit'
  'hostbookings'
  'idempotency'
  'slotlocks'
  'subscriptions'
  'busyintervals'
  'outbox'
]

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Flex Consumption: upper bound on instances per scale group.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex Consumption: memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption: always-ready instances of the HTTP group (kept warm, no cold start; billed while idle); 0: none.')
@minValue(0)
@maxValue(1000)
param alwaysReadyHttpInstances int = 0

@description('Flex Consumption: concurrent HTTP requests per instance; 0 keeps the platform default.')
@minValue(0)
@maxValue(1000)
param httpPerInstanceConcurrency int = 0

@description('E-mail address for alerts; empty: alerts show in the portal only.')
param alertEmail string = ''

@description('Resource id of an existing action group every alert also notifies; empty: none.')
param alertActionGroupId string = ''

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

// Names of the app's queues: the same strings as lib/adapters/storage/queues.py (a unit test compares them).
// Each also gets `<name>-poison`, where the host moves a message after host.json's maxDequeueCount.
var queueNames = [
  'graph-notifications'
  'sync-requests'
  'outbox'
]

var tags = {
  'azd-env-name': environmentName
  app: 'slotbridge'
}

// Deterministic per subscription + environment + region, so re-provisioning finds the same resources.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var deploymentContainerName = 'app-package-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-slotbridge-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-slotbridge-${resourceToken}'
    applicationInsightsName: 'appi-slotbridge-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    queueNames: queueNames
    tableNames: [for kind in tableKinds: '${tablePrefix}${kind}']
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  // The app starts with its roles in place, so the Key Vault reference and host storage resolve.
  dependsOn: [
    roles
  ]
  params: {
    planName: 'plan-slotbridge-${resourceToken}'
    appName: 'func-slotbridge-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    clientSecretName: clientSecretName
    googleClientId: googleClientId
    googleClientSecretName: googleClientSecretName
    dataKeySecretName: dataKeySecretName
    authorityHost: authorityHost
    graphBaseUrl: graphBaseUrl
    clientId: clientId
    publicBaseUrl: publicBaseUrl
    tablePrefix: tablePrefix
    tenant: tenant
    allowedOrigins: allowedOrigins
    defaultReturnUrl: defaultReturnUrl
    productWebhookUrl: productWebhookUrl
    maxAccountsPerUser: maxAccountsPerUser
    calendarUnreadableAfterMinutes: calendarUnreadableAfterMinutes
    availabilitySource: availabilitySource
    syncHorizonDays: syncHorizonDays
    subscriptionRenewalWindowMinutes: subscriptionRenewalWindowMinutes
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    alwaysReady: alwaysReadyHttpInstances > 0 ? [
      {
        name: 'http'
        instanceCount: alwaysReadyHttpInstances
      }
    ] : []
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: 'slotbridge-${resourceToken}'
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
    actionGroupId: alertActionGroupId
    healthUrl: '${functionApp.outputs.url}/api/health'
  }
}

// Outputs become azd environment values (`azd env get-values`); infra/scripts read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output SLOTBRIDGE_REDIRECT_URI string = '${empty(publicBaseUrl) ? functionApp.outputs.url : publicBaseUrl}/api/auth/callback'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URL string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.workspaceName
// Names of Key Vault secrets, not their values.
#disable-next-line outputs-should-not-contain-secrets
output SLOTBRIDGE_CLIENT_SECRET_NAME string = clientSecretName
#disable-next-line outputs-should-not-contain-secrets
output SLOTBRIDGE_GOOGLE_CLIENT_SECRET_NAME string = googleClientSecretName
#disable-next-line outputs-should-not-contain-secrets
output SLOTBRIDGE_DATA_KEY_SECRET_NAME string = dataKeySecretName
