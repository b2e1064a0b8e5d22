// Log alerts on Application Insights. Storage exposes no per-queue length metric (QueueMessageCount is
// account-wide and hourly), so poison messages are caught from the host's own log line instead:
// "Message has reached MaxDequeueCount of N. Moving message to queue '<queue>-poison'." (queues
// graph-notifications-poison, sync-requests-poison, outbox-poison).
// The app events (renewal failures, needs_reconnect) are log messages that start with the event name
// (lib/features/sync/renewal.py, lib/features/connections/reconnect.py; a unit test checks that lib logs them);
// docs/operations.md has the same queries for ad-hoc use.

param location string
param tags object = {}
param namePrefix string

@description('Resource id of the Application Insights component the rules query.')
param applicationInsightsId string

@description('E-mail address that receives alerts; empty: rules fire without notification (portal only).')
param alertEmail string = ''

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
// estimate if traces are ever sampled.
var poisonQuery = 'traces | where message startswith "Message has reached MaxDequeueCount" | extend queue = extract("to queue .([a-z0-9-]+)", 1, message) | summarize poisoned = sum(itemCount) by queue'
var renewalQuery = 'traces | where message startswith "${renewalFailedEvent}" | summarize failures = sum(itemCount)'
var needsReconnectQuery = 'traces | where message startswith "${needsReconnectEvent}" | summarize marked = sum(itemCount)'
var failedInvocationsQuery = 'requests | where success == false | summarize failures = sum(itemCount) by operation_Name'

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

var actions = empty(alertEmail) ? {} : {
  actionGroups: [
    actionGroup.id
  ]
}

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
