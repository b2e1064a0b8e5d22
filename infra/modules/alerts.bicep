// Alerts and probes on Application Insights. Storage exposes no per-queue length metric (QueueMessageCount
// is account-wide and hourly), so poison queues are watched through log lines: the host's own
// "Message has reached MaxDequeueCount of N. Moving message to queue '<queue>-poison'." (messages moved
// there) and the app's `poison_queue_depth queue=<queue>-poison depth=<n>` (messages still waiting,
// lib/features/housekeeping/poison_queues.py) for graph-notifications-poison, sync-requests-poison
// and outbox-poison.
// The app events (renewal failures, needs_reconnect, poison depth) are log messages that start with
// the event name (a unit test checks that lib logs them); docs/operations.md has the same queries
// for ad-hoc use and says what to do when each rule fires.
// With OpenTelemetry on, the app's own spans and log records arrive too, under the role name
// `otelRoleName` (lib/core/tracing.py's service.name); every count here reads the host's copy
// (another role name), so nothing is counted twice.

param location string
param tags object = {}
param namePrefix string

@description('Resource id of the Application Insights component the rules query.')
param applicationInsightsId string

@description('E-mail address that receives alerts; empty: rules fire without notification (portal only).')
param alertEmail string = ''

@description('Resource id of an existing action group that every rule also notifies (on-call, Teams, a ticket system); empty: none.')
param actionGroupId string = ''

@description('URL of the health route the availability test probes.')
param healthUrl string

@description('Availability test locations (Application Insights location ids); an alert fires when 2 of them fail.')
param webTestLocations array = [
  'us-va-ash-azr'
  'emea-nl-ams-azr'
  'apac-sg-sin-azr'
]

@description('Cloud role name of the app\'s own OpenTelemetry data (lib/core/tracing.py SERVICE_NAME).')
param otelRoleName string = 'slotbridge'

@description('Log message of a non-empty poison queue (lib logs it as the first word of the message).')
param poisonDepthEvent string = 'poison_queue_depth'

@description('Messages waiting in one poison queue above which an alert fires.')
param poisonDepthThreshold int = 0

@description('Minutes without any function execution (HTTP, queue, timer) after which an alert fires; the booking housekeeping timer alone runs every 5 minutes.')
param noExecutionMinutes int = 30

@description('Host log messages that say the app\'s functions failed to load (indexing errors, zero functions).')
param indexingErrorMessages array = [
  'No job functions found'
  '0 functions loaded'
  'Worker failed to index functions'
  'Worker failed to load function'
  'Error indexing method'
]

@description('Log message of a failed subscription renewal (lib logs it as the first word of the message).')
param renewalFailedEvent string = 'subscription_renewal_failed'

@description('Log message of a connection marked needs_reconnect.')
param needsReconnectEvent string = 'connection_needs_reconnect'

@description('Renewal failures per hour that raise an alert.')
param renewalFailureThreshold int = 5

@description('Connections marked needs_reconnect per hour that raise an alert (a spike hints at an app-wide cause).')
param needsReconnectThreshold int = 10

@description('Failed function invocations per 15 minutes that raise an alert.')
param failedInvocationThreshold int = 20

// Counts use sum(itemCount): exact while host.json keeps traces out of sampling, and still a fair
// estimate if traces are ever sampled. `hostOnly` leaves out the app's OpenTelemetry copies.
var hostOnly = 'cloud_RoleName != "${otelRoleName}"'
var poisonQuery = 'traces | where ${hostOnly} | where message startswith "Message has reached MaxDequeueCount" | extend queue = extract("to queue .([a-z0-9-]+)", 1, message) | summarize poisoned = sum(itemCount) by queue'
var poisonDepthQuery = 'traces | where ${hostOnly} | where message startswith "${poisonDepthEvent} " | extend queue = extract("queue=([a-z0-9-]+)", 1, message), depth = toint(extract("depth=([0-9]+)", 1, message)) | summarize depth = max(depth) by queue'
var renewalQuery = 'traces | where ${hostOnly} | where message startswith "${renewalFailedEvent}" | summarize failures = sum(itemCount)'
var needsReconnectQuery = 'traces | where ${hostOnly} | where message startswith "${needsReconnectEvent}" | summarize marked = sum(itemCount)'
var failedInvocationsQuery = 'requests | where ${hostOnly} | where success == false | summarize failures = sum(itemCount) by operation_Name'
// count(), not sum(itemCount): over no rows it still answers one row, 0.
var noExecutionsQuery = 'requests | where ${hostOnly} | summarize executions = count()'
var indexingErrorsQuery = 'traces | where ${hostOnly} | where message has_any (dynamic(${string(indexingErrorMessages)})) | summarize errors = sum(itemCount)'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'slotbridge'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = concat(empty(alertEmail) ? [] : [actionGroup.id], empty(actionGroupId) ? [] : [actionGroupId])
var actions = {
  actionGroups: actionGroupIds
}
// Metric alerts name their action groups one object each.
var metricActions = [for id in actionGroupIds: {
  actionGroupId: id
}]

resource poisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poison-messages'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: messages moved to a poison queue'
    description: 'A queue message failed maxDequeueCount times and went to <queue>-poison. See docs/operations.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: poisonQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'poisoned'
          dimensions: [
            {
              name: 'queue'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

resource renewalAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-subscription-renewal-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: Graph subscription renewals failing'
    description: 'Renewals keep failing; subscriptions that expire stop change notifications until reconciliation.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: renewalQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          operator: 'GreaterThan'
          threshold: renewalFailureThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

resource needsReconnectAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-needs-reconnect-spike'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: many connections need reconnecting'
    description: 'Many connections were marked needs_reconnect within an hour: check the client secret, consent and Conditional Access.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: needsReconnectQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'marked'
          operator: 'GreaterThan'
          threshold: needsReconnectThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

resource failedInvocationsAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-failed-invocations'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: function invocations failing'
    description: 'Function invocations (HTTP, queue, timer) are failing; the dimension names the function.'
    severity: 3
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: failedInvocationsQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            {
              name: 'operation_Name'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: failedInvocationThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

resource poisonDepthAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poison-depth'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: messages waiting in a poison queue'
    description: 'A -poison queue holds messages (the app checks every 5 minutes); they wait for a replay or removal. See docs/operations.md.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: poisonDepthQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'depth'
          dimensions: [
            {
              name: 'queue'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: poisonDepthThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

resource noExecutionsAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-no-executions'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: no function executions'
    description: 'No function ran (not even the 5-minute timer): the app is not loading its functions or not starting. See docs/operations.md.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT${noExecutionMinutes}M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: noExecutionsQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'executions'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

resource indexingErrorsAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-indexing-failed'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Slotbridge: functions failed to load'
    description: 'The host reports that the app\'s functions failed to index or that none were found (a bad setting stops them all). See docs/operations.md.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: indexingErrorsQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'errors'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: actions
  }
}

// A standard availability test: GET /api/health from several locations every 5 minutes, 200 expected
// (the route answers 503 when storage or the key store does not), TLS checked.
resource healthTest 'Microsoft.Insights/webtests@2022-06-15' = {
  name: '${namePrefix}-health'
  location: location
  tags: union(tags, {
    'hidden-link:${applicationInsightsId}': 'Resource'
  })
  kind: 'standard'
  properties: {
    SyntheticMonitorId: '${namePrefix}-health'
    Name: 'Slotbridge /api/health'
    Description: 'GET /api/health answers 200 (storage and the key store answer).'
    Enabled: true
    Frequency: 300
    Timeout: 30
    Kind: 'standard'
    RetryEnabled: true
    Locations: [for id in webTestLocations: {
      Id: id
    }]
    Request: {
      RequestUrl: healthUrl
      HttpVerb: 'GET'
      ParseDependentRequests: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: true
      SSLCertRemainingLifetimeCheck: 7
    }
  }
}

resource healthAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-health-failing'
  location: 'global'
  tags: tags
  properties: {
    description: 'GET /api/health fails from 2 or more locations: the app is down, or storage or the key store does not answer. See docs/operations.md.'
    severity: 1
    enabled: true
    scopes: [
      healthTest.id
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
      webTestId: healthTest.id
      componentId: applicationInsightsId
      failedLocationCount: 2
    }
    actions: metricActions
  }
}

output healthTestId string = healthTest.id
