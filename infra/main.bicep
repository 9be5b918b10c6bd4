// plsgate in Azure: one resource group holding a Linux Function App on the Flex Consumption
// plan (custom handler), its storage account (host storage + plsgate's tables), a user-assigned
// managed identity, Application Insights on a Log Analytics workspace, the least-privilege custom
// role assigned where plsgate is told to look, and the Event Grid system topic of this
// subscription with (second step) the subscription that delivers to the ResourceEvents function.
//
//   az deployment group create -g RG -f infra/main.bicep -p infra/main.parameters.json
//
// See infra/README.md for the whole procedure (deploy, publish the package, wire events).
//
// Sources this file relies on (public material, checked when it was written):
// - Flex Consumption site shape (serverfarms sku FC1/FlexConsumption, reserved: true;
//   sites kind 'functionapp,linux' with properties.functionAppConfig.{deployment.storage,
//   scaleAndConcurrency, runtime}; identity-based AzureWebJobsStorage__accountName/__credential/
//   __clientId; APPLICATIONINSIGHTS_AUTHENTICATION_STRING): Azure-Samples/
//   azure-functions-flex-consumption-samples (IaC/bicep) and nzthiago/flex-consumption-bicep-basic.
// - Flex Consumption deprecations: FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are
//   not app settings on Flex; the runtime is functionAppConfig.runtime ('custom' = custom handler).
//   azure-docs functions-app-settings.md#flex-consumption-plan-deprecations.
// - runtime { name: 'custom', version: '1.0' }: public Flex templates for custom handlers record
//   version 1.0 (the CLI shows it as ''); a parameter in case a region lists another.
// - Host storage with an identity: 'Storage Blob Data Owner' is the minimum for the host alone
//   (timer-trigger locks, keys, Flex deployment container); 'Storage Table Data Contributor' adds
//   diagnostic events and is what plsgate's tables need anyway. No queue role: plsgate has no
//   blob trigger. azure-docs includes/functions-azurewebjobsstorage-permissions.md.
// - System topics: one per source; a subscription-level topic lives in a resource group of the
//   same subscription, location 'global', topicType 'Microsoft.Resources.Subscriptions'.
//   azure-docs articles/event-grid/system-topics.md. Resource Notifications: topicType
//   'Microsoft.ResourceNotifications.Resources', event types ...Resources.CreatedOrUpdated/Deleted,
//   subscribing needs Microsoft.ResourceNotifications/systemTopics/subscribeToResources/action.
//   azure-docs articles/event-grid/event-schema-resources.md.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Naming and hosting
// ---------------------------------------------------------------------------------------------

@description('Short name used in every resource name (lower-case letters, digits and hyphens).')
@minLength(2)
@maxLength(20)
param name string = 'plsgate'

@description('Region of the Function App and its storage; it must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Tags put on every resource.')
param tags object = {}

@description('Flex Consumption instance memory in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption scale-out limit; 40 is the lowest the plan accepts (azure-docs flex-consumption-plan.md, Considerations).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Version of the Flex Consumption custom-handler runtime stack.')
param customRuntimeVersion string = '1.0'

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

// ---------------------------------------------------------------------------------------------
// plsgate settings: one parameter per setting of internal/config.Settings (README lists them)
// ---------------------------------------------------------------------------------------------

@description('SCOPE_SUBSCRIPTIONS: subscription IDs whose private link services plsgate manages. The custom role is assigned at each of these subscriptions.')
param scopeSubscriptionIds array = []

@description('SCOPE_PLS_IDS: private link service resource IDs plsgate manages besides SCOPE_SUBSCRIPTIONS. The custom role is assigned on each of these resources only.')
param scopePlsIds array = []

@description('WEBPUBSUB_IDS: Web PubSub resource IDs whose shared private link resources verify requesters. The custom role is assigned on each of these resources.')
param webPubSubIds array = []

@description('SCOPE_RESOURCE_GRAPH: find Pending connections with Azure Resource Graph. Adds Microsoft.ResourceGraph/resources/read to the role.')
param scopeResourceGraph bool = false

@description('PLSGATE_POLICY: the policy file path inside the package (make package ships policy.yaml), or the policy text inline.')
param policy string = 'policy.yaml'

@description('PLSGATE_TABLE_PREFIX: prefix of plsgate\'s table names (letters and digits, starting with a letter).')
param tablePrefix string = ''

@description('RECONCILE_SCHEDULE: NCRONTAB schedule (six fields) of the reconciliation timer.')
param reconcileSchedule string = '0 */5 * * * *'

@description('RECONCILE_CONCURRENCY: private link services reconciled at once during a scan.')
@minValue(1)
@maxValue(64)
param reconcileConcurrency int = 8

@description('RECONCILE_TIME_BUDGET: how long one timer scan may run; keep it below host.json functionTimeout.')
param reconcileTimeBudget string = '8m'

@description('DRIFT_MODE: report (record and notify) or enforce (reject Approved connections no rule approves).')
@allowed([
  'report'
  'enforce'
])
param driftMode string = 'report'

@description('DRY_RUN: record decisions without ARM writes. true on a first deployment; set false once the history looks right.')
param dryRun bool = true

@description('APPROVERS: comma-separated object IDs, UPNs or group IDs allowed to approve/reject through the API (empty: anyone holding the function key).')
param approvers string = ''

@description('APPROVERS_FORCE: comma-separated principals allowed to override the policy with force=true.')
param approversForce string = ''

@description('NOTIFY_TOPIC_ENDPOINT: Event Grid topic endpoint for outcome CloudEvents (empty: no notifications).')
param notifyTopicEndpoint string = ''

@description('Resource ID of the notify topic (Microsoft.EventGrid/topics); when set, the identity gets EventGrid Data Sender on it.')
param notifyTopicResourceId string = ''

@description('ARM_ENDPOINT: Resource Manager endpoint; empty = public cloud.')
param armEndpoint string = ''

@description('PLSGATE_LOG_LEVEL.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

// ---------------------------------------------------------------------------------------------
// Event Grid
// ---------------------------------------------------------------------------------------------

@description('Create the Event Grid subscription to the ResourceEvents function. Leave false until the package is published: Event Grid refuses a function that does not exist yet.')
param deployEventSubscription bool = false

@description('Name of an existing Microsoft.Resources.Subscriptions system topic of this subscription to reuse (only one may exist per subscription). Empty: create one here.')
param existingSystemTopicName string = ''

@description('Resource group of existingSystemTopicName (empty: this resource group).')
param existingSystemTopicResourceGroup string = ''

@description('Also subscribe to Azure Resource Notifications (system topic type Microsoft.ResourceNotifications.Resources): CreatedOrUpdated/Deleted events that carry the private link service\'s body. Whether connection changes raise them is unverified; the deployer needs Microsoft.ResourceNotifications/systemTopics/subscribeToResources/action (Owner has it).')
param enableResourceNotifications bool = false

@description('Dead-letter undeliverable events into a blob container of the storage account (only with a system topic created here, whose identity writes them).')
param enableDeadLetter bool = true

@description('Event Grid delivery attempts before an event is dead-lettered or dropped.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Event Grid time to live of an event in minutes.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// ---------------------------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------------------------

var token = uniqueString(resourceGroup().id, name)
var identityName = 'id-${name}-${token}'
var storageName = toLower('st${take(replace(name, '-', ''), 9)}${token}')
var planName = 'plan-${name}-${token}'
var appName = 'func-${name}-${token}'
var workspaceName = 'log-${name}-${token}'
var appInsightsName = 'appi-${name}-${token}'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
var roleName = 'plsgate connection approver (${name}-${token})'

// The function Event Grid delivers to: functions/ResourceEvents/function.json (eventGridTrigger).
var eventsFunctionName = 'ResourceEvents'

// plsgate's tables (internal/store: connections, transitions, runs), created here so that the
// first run does not depend on a create-table call.
var tableNames = [
  'connections'
  'transitions'
  'runs'
]

// Built-in role IDs (azure-docs role-based-access-control/built-in-roles.md).
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Table endpoint without a trailing slash, from the cloud's storage suffix.
var tablesEndpoint = 'https://${storageName}.table.${environment().suffixes.storage}'

var createSystemTopic = empty(existingSystemTopicName)
var systemTopicName = createSystemTopic ? 'evgt-${name}-${token}' : existingSystemTopicName
var systemTopicResourceGroup = empty(existingSystemTopicResourceGroup) ? resourceGroup().name : existingSystemTopicResourceGroup
var deadLetterEnabled = enableDeadLetter && createSystemTopic
var notificationsTopicName = 'evgt-${name}-${token}-arn'

// Parts of the notify topic's ID; a well-formed stand-in when none is given, so that the
// skipped module's scope still evaluates.
var notifyTopic = split(empty(notifyTopicResourceId) ? '${resourceGroup().id}/providers/Microsoft.EventGrid/topics/none' : notifyTopicResourceId, '/')

// Every subscription the role may be assigned in (a role definition lists its assignable scopes).
var scopeSubscriptionScopes = map(scopeSubscriptionIds, s => toLower('/subscriptions/${s}'))
var plsSubscriptionScopes = map(scopePlsIds, id => toLower('/subscriptions/${split(id, '/')[2]}'))
var webPubSubSubscriptionScopes = map(webPubSubIds, id => toLower('/subscriptions/${split(id, '/')[2]}'))
var assignableScopes = union([toLower(subscription().id)], scopeSubscriptionScopes, plsSubscriptionScopes, webPubSubSubscriptionScopes)

// ---------------------------------------------------------------------------------------------
// Identity, monitoring, storage
// ---------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionInDays
  }
}

// Local (key) ingestion off: the host sends telemetry with the identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING + Monitoring Metrics Publisher).
resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

// Shared-key access off: the host, the deployment and plsgate all use the identity.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (deadLetterEnabled) {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for t in tableNames: {
    parent: tableService
    name: '${tablePrefix}${t}'
  }
]

// Storage roles on this account only: the host's minimum and plsgate's tables.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roleIds.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: Functions host storage and the Flex deployment container'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roleIds.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: connections, transitions and runs tables'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: telemetry with Entra ID authentication'
  }
}

// ---------------------------------------------------------------------------------------------
// Function App (Flex Consumption, custom handler)
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // The custom-handler stack: the host starts host.json's customHandler executable
      // (plsgate serve). On Flex this replaces FUNCTIONS_WORKER_RUNTIME=custom.
      runtime: {
        name: 'custom'
        version: customRuntimeVersion
      }
    }
  }
  dependsOn: [
    deploymentContainer
    blobOwner
  ]
}

// Every app setting, in one place: the host's (identity-based storage, telemetry) and every
// setting of internal/config.Settings except the deliberate omissions listed in infra/README.md
// (connection-string and key forms: with the managed identity they stay empty).
// infra_test.go checks this block against config.Settings.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
    PLSGATE_TABLES_ENDPOINT: tablesEndpoint
    PLSGATE_TABLE_PREFIX: tablePrefix
    PLSGATE_POLICY: policy
    SCOPE_SUBSCRIPTIONS: join(scopeSubscriptionIds, ',')
    SCOPE_PLS_IDS: join(scopePlsIds, ',')
    SCOPE_RESOURCE_GRAPH: scopeResourceGraph ? 'true' : 'false'
    RECONCILE_SCHEDULE: reconcileSchedule
    RECONCILE_CONCURRENCY: string(reconcileConcurrency)
    RECONCILE_TIME_BUDGET: reconcileTimeBudget
    DRIFT_MODE: driftMode
    DRY_RUN: dryRun ? 'true' : 'false'
    WEBPUBSUB_IDS: join(webPubSubIds, ',')
    APPROVERS: approvers
    APPROVERS_FORCE: approversForce
    NOTIFY_TOPIC_ENDPOINT: notifyTopicEndpoint
    AZURE_CLIENT_ID: identity.properties.clientId
    ARM_ENDPOINT: armEndpoint
    PLSGATE_LOG_LEVEL: logLevel
  }
  dependsOn: [
    tableContributor
    metricsPublisher
    tables
  ]
}

// ---------------------------------------------------------------------------------------------
// Least privilege: the custom role (modules/role.bicep, actions in role-actions.json) assigned
// exactly where plsgate is told to look.
// ---------------------------------------------------------------------------------------------

module role 'modules/role.bicep' = {
  name: 'plsgate-role-${token}'
  scope: subscription()
  params: {
    roleName: roleName
    assignableScopes: assignableScopes
    includeResourceGraph: scopeResourceGraph
  }
}

module subscriptionAssignments 'modules/assign-subscription.bicep' = [
  for (sub, i) in scopeSubscriptionIds: {
    name: 'plsgate-role-sub-${i}-${token}'
    scope: subscription(sub)
    params: {
      roleGuid: role.outputs.roleGuid
      principalId: identity.properties.principalId
    }
  }
]

module plsAssignments 'modules/assign-pls.bicep' = [
  for (id, i) in scopePlsIds: {
    name: 'plsgate-role-pls-${i}-${token}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      plsName: last(split(id, '/'))
      roleGuid: role.outputs.roleGuid
      principalId: identity.properties.principalId
    }
  }
]

module webPubSubAssignments 'modules/assign-webpubsub.bicep' = [
  for (id, i) in webPubSubIds: {
    name: 'plsgate-role-wps-${i}-${token}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      webPubSubName: last(split(id, '/'))
      roleGuid: role.outputs.roleGuid
      principalId: identity.properties.principalId
    }
  }
]

// EventGrid Data Sender on the notify topic only, and only when one is given.
module notifySender 'modules/notify-sender.bicep' = if (!empty(notifyTopicResourceId)) {
  name: 'plsgate-notify-${token}'
  scope: resourceGroup(notifyTopic[2], notifyTopic[4])
  params: {
    topicName: last(notifyTopic)
    principalId: identity.properties.principalId
  }
}

// ---------------------------------------------------------------------------------------------
// Event Grid: the subscription-level system topic, and (deployEventSubscription=true, after the
// package is published) the event subscription to ResourceEvents.
// ---------------------------------------------------------------------------------------------

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createSystemTopic) {
  name: systemTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

// Azure Resource Notifications for the subscription (opt-in, see enableResourceNotifications).
resource notificationsTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (enableResourceNotifications) {
  name: notificationsTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.ResourceNotifications.Resources'
  }
}

// Each topic's own identity writes its dead letters: no storage key is needed.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deadLetterEnabled) {
  name: guid(storage.id, deadLetterContainerName, roleIds.storageBlobDataContributor, systemTopicName)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: deadLetterEnabled ? systemTopic.identity.principalId : ''
    principalType: 'ServicePrincipal'
    description: 'plsgate: Event Grid dead letters (Resource Manager events)'
  }
}

resource notificationsDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deadLetterEnabled && enableResourceNotifications) {
  name: guid(storage.id, deadLetterContainerName, roleIds.storageBlobDataContributor, notificationsTopicName)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: deadLetterEnabled && enableResourceNotifications ? notificationsTopic.identity.principalId : ''
    principalType: 'ServicePrincipal'
    description: 'plsgate: Event Grid dead letters (Resource Notifications)'
  }
}

module eventSubscription 'modules/event-subscription.bicep' = if (deployEventSubscription) {
  name: 'plsgate-events-${token}'
  scope: resourceGroup(systemTopicResourceGroup)
  params: {
    systemTopicName: systemTopicName
    eventSubscriptionName: '${name}-resource-events'
    source: 'resources'
    functionResourceId: '${functionApp.id}/functions/${eventsFunctionName}'
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    deadLetterStorageAccountId: deadLetterEnabled ? storage.id : ''
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    systemTopic
    deadLetterWriter
    appSettings
  ]
}

module notificationsSubscription 'modules/event-subscription.bicep' = if (deployEventSubscription && enableResourceNotifications) {
  name: 'plsgate-notifications-${token}'
  params: {
    systemTopicName: notificationsTopicName
    eventSubscriptionName: '${name}-resource-notifications'
    source: 'notifications'
    functionResourceId: '${functionApp.id}/functions/${eventsFunctionName}'
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    deadLetterStorageAccountId: deadLetterEnabled ? storage.id : ''
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    notificationsTopic
    notificationsDeadLetterWriter
    appSettings
  ]
}

// ---------------------------------------------------------------------------------------------
// Outputs (infra/README.md uses them)
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output storageAccountName string = storage.name
output tablesEndpoint string = tablesEndpoint
output systemTopicName string = systemTopicName
output notificationsTopicName string = enableResourceNotifications ? notificationsTopicName : ''
output customRoleId string = role.outputs.roleDefinitionId
output eventSubscriptionDeployed bool = deployEventSubscription
output dryRun bool = dryRun
