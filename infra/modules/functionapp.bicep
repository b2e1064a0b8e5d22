// The Slotbridge function app: Python 3.11 on a Flex Consumption (FC1) plan, running as a
// user-assigned managed identity. Every connection is identity-based; the one secret the app needs
// (the Entra client secret) reaches it as a Key Vault reference, never as a value in this template.

param planName string
param appName string
param location string
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('Blob container URL that receives the deployment package.')
param deploymentContainerUrl string

param applicationInsightsConnectionString string

@description('Key Vault URI, https://<name>.vault.azure.net/ (with the trailing slash).')
param keyVaultUri string

@description('Name of the Key Vault secret that holds the Entra app client secret.')
param clientSecretName string

@description('Name of the Key Vault secret that holds the token-cache data key.')
param dataKeySecretName string

@description('Microsoft identity platform host.')
param authorityHost string

@description('Microsoft Graph base URL including the version segment.')
param graphBaseUrl string

@description('Application (client) id of the Entra app registration; empty until register-app.sh has run.')
param clientId string

@description('OAuth client id of the Google Cloud project; empty: Google Calendar off.')
param googleClientId string

@description('Name of the Key Vault secret that holds the Google OAuth client secret.')
param googleClientSecretName string

@description('Public base URL of the app (custom domain); empty: https://<default host name>.')
param publicBaseUrl string = ''

@description('Prefix of every table name (SLOTBRIDGE_TABLE_PREFIX).')
param tablePrefix string

@description('Authority tenant: common (work and personal accounts), organizations, or a tenant id.')
param tenant string = 'common'

@description('Comma-separated origins of the product pages (CORS, popup postMessage, return URLs).')
param allowedOrigins string = ''

@description('Where a redirect-mode connect returns when no allowed returnUrl is given.')
param defaultReturnUrl string = ''

@description('How many calendar accounts (Outlook and Google together) one user may connect.')
param maxAccountsPerUser string = '2'

@description('Minutes a chosen calendar may stay unreadable before calendar.unavailable (calendar_unreadable) is posted.')
param calendarUnreadableAfterMinutes string = '60'

@description('The product webhook receiving "action required" messages; empty keeps them unsent.')
param productWebhookUrl string = ''

@description('Key Vault secret names of the product-facing keys (created by the operator, see docs).')
param apiKeysSecretName string = 'api-keys'
param userTokenKeySecretName string = 'user-token-key'
param webhookSigningKeySecretName string = 'webhook-signing-key'
param clientStateKeySecretName string = 'client-state-key'

@description('Days ahead the busy cache covers (SLOTBRIDGE_SYNC_HORIZON_DAYS).')
param syncHorizonDays string = '90'

@description('Where availability reads busy time: cached (busy cache, Graph for the rest) or live.')
@allowed([
  'cached'
  'live'
])
param availabilitySource string = 'cached'

@description('Subscriptions expiring within this many minutes are renewed.')
param subscriptionRenewalWindowMinutes string = '2880'

@description('NCRONTAB schedule of the subscription renewal timer.')
param subscriptionRenewalSchedule string = '0 */30 * * * *'

@description('NCRONTAB schedule of the reconciliation timer.')
param syncReconcileSchedule string = '0 15 */4 * * *'

@description('Minutes over which one reconciliation run spreads its sync requests (0: all at once).')
param syncReconcileSpreadMinutes string = '0'

@description('NCRONTAB schedule of the booking housekeeping timer (pending bookings, late events).')
param bookingHousekeepingSchedule string = '0 */5 * * * *'

@description('NCRONTAB schedule of the poison-queue depth check (its alert counts the last 15 minutes).')
param poisonCheckSchedule string = '0 */5 * * * *'

@description('Upper bound on instances, per scale group (HTTP, and each non-HTTP function).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Concurrent HTTP requests per instance; 0 keeps the platform default (1 for Python).')
@minValue(0)
@maxValue(1000)
param httpPerInstanceConcurrency int = 0

@description('Always-ready instances, e.g. [{ name: \'http\', instanceCount: 1 }]; billed while idle.')
param alwaysReady array = []

var runtimeName = 'python'
var runtimeVersion = '3.11'
var clientSecretReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${clientSecretName})'
var googleClientSecretReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${googleClientSecretName})'
var apiKeysReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${apiKeysSecretName})'
var userTokenKeyReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${userTokenKeySecretName})'
var webhookSigningKeyReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${webhookSigningKeySecretName})'
// Platform CORS answers the product pages' preflights: exactly SLOTBRIDGE_ALLOWED_ORIGINS (the same parameter).
var corsAllowedOrigins = map(filter(split(allowedOrigins, ','), origin => !empty(trim(origin))), origin => trim(origin))

var clientStateKeyReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${clientStateKeySecretName})'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // No credentials mode: pages send tokens in headers, never cookies.
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReady
        triggers: (httpPerInstanceConcurrency > 0) ? {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        } : null
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
  }
}

// App settings. Names of the SLOTBRIDGE_* and AzureWebJobsStorage__* settings are the ones that
// lib/core/settings.py declares (tests/unit/infra checks that they agree). Flex Consumption manages
// FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and the package settings itself; setting them
// here is an error.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Host storage and the app's Table/Queue clients, both through the user-assigned identity.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: blobEndpoint
    AzureWebJobsStorage__queueServiceUri: queueEndpoint
    AzureWebJobsStorage__tableServiceUri: tableEndpoint
    // DefaultAzureCredential picks the user-assigned identity (Key Vault, storage SDK clients).
    AZURE_CLIENT_ID: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // Microsoft cloud endpoints and the Entra app registration.
    SLOTBRIDGE_AUTHORITY_HOST: authorityHost
    SLOTBRIDGE_GRAPH_BASE_URL: graphBaseUrl
    SLOTBRIDGE_CLIENT_ID: clientId
    SLOTBRIDGE_CLIENT_SECRET: clientSecretReference
    // Google Calendar's OAuth client: off while the id is empty (the secret's reference then unused).
    SLOTBRIDGE_GOOGLE_CLIENT_ID: googleClientId
    SLOTBRIDGE_GOOGLE_CLIENT_SECRET: empty(googleClientId) ? '' : googleClientSecretReference
    // Key Vault: the data key that encrypts token caches is read by the app at run time.
    SLOTBRIDGE_KEY_VAULT_URL: keyVaultUri
    SLOTBRIDGE_DATA_KEY_SECRET_NAME: dataKeySecretName
    // Where Graph sends notifications and Microsoft sends the browser back after sign-in.
    SLOTBRIDGE_PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl
    SLOTBRIDGE_TABLE_PREFIX: tablePrefix
    SLOTBRIDGE_TENANT: tenant
    // The product's side: its page origins, its webhook, and the keys shared with it.
    SLOTBRIDGE_ALLOWED_ORIGINS: allowedOrigins
    SLOTBRIDGE_DEFAULT_RETURN_URL: defaultReturnUrl
    SLOTBRIDGE_MAX_ACCOUNTS_PER_USER: maxAccountsPerUser
    SLOTBRIDGE_PRODUCT_WEBHOOK_URL: productWebhookUrl
    SLOTBRIDGE_CALENDAR_UNREADABLE_AFTER_MINUTES: calendarUnreadableAfterMinutes
    SLOTBRIDGE_API_KEYS: apiKeysReference
    SLOTBRIDGE_USER_TOKEN_KEY: userTokenKeyReference
    SLOTBRIDGE_WEBHOOK_SIGNING_KEY: webhookSigningKeyReference
    // Change notifications: the clientState key, the busy cache's horizon, the timers' schedules.
    SLOTBRIDGE_CLIENT_STATE_KEY: clientStateKeyReference
    SLOTBRIDGE_SYNC_HORIZON_DAYS: syncHorizonDays
    SLOTBRIDGE_AVAILABILITY_SOURCE: availabilitySource
    SLOTBRIDGE_SUBSCRIPTION_RENEWAL_WINDOW_MINUTES: subscriptionRenewalWindowMinutes
    SLOTBRIDGE_SUBSCRIPTION_RENEWAL_SCHEDULE: subscriptionRenewalSchedule
    SLOTBRIDGE_SYNC_RECONCILE_SCHEDULE: syncReconcileSchedule
    SLOTBRIDGE_SYNC_RECONCILE_SPREAD_MINUTES: syncReconcileSpreadMinutes
    SLOTBRIDGE_BOOKING_HOUSEKEEPING_SCHEDULE: bookingHousekeepingSchedule
    SLOTBRIDGE_POISON_CHECK_SCHEDULE: poisonCheckSchedule
  }
}

// Deployments use Entra ID (azd, az CLI); basic-auth publishing credentials stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
output url string = 'https://${site.properties.defaultHostName}'
