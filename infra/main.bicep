// plsgate in Azure: one resource group holding a Linux Function App on the Flex Consumption
// plan (custom handler), its storage account (host storage + plsgate's tables), a user-assigned
// managed identity, Application Insights on a Log Analytics workspace, the least-privilege custom
// role assigned where plsgate is told to look, an Event Grid system topic in every subscription
// plsgate watches with (second step) the event subscriptions that deliver to the ResourceEvents
// function, and (AUTH_MODE=easyauth only) App Service authentication.
//
//   ./infra/deploy.sh -g RG -l LOCATION --scope-subscription SUB --policy my-policy.yaml
//
// See infra/README.md for the whole procedure. Every resource below carries a `// source:`
// comment naming the public material its shape and behaviour were checked against
// (infra_test.go fails without one); where two revisions of a document disagree, the newer wins.
//
// Background sources (public material, checked when it was written):
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

@description('SCOPE_SUBSCRIPTIONS: subscription IDs whose private link services plsgate manages. The custom role is assigned at each of these subscriptions. This or scopePlsIds is required.')
param scopeSubscriptionIds array = []

@description('SCOPE_PLS_IDS: private link service resource IDs plsgate manages besides SCOPE_SUBSCRIPTIONS. The custom role is assigned on each of these resources only. This or scopeSubscriptionIds is required.')
param scopePlsIds array = []

@description('WEBPUBSUB_IDS: Web PubSub resource IDs whose shared private link resources verify requesters. The custom role is assigned on each of these resources.')
param webPubSubIds array = []

@description('SCOPE_RESOURCE_GRAPH: find Pending connections with Azure Resource Graph. Adds Microsoft.ResourceGraph/resources/read to the role.')
param scopeResourceGraph bool = false

@description('PLSGATE_POLICY: the policy file inside the package (make package POLICY=FILE ships the deployer\'s policy as policy.yaml), or the policy text inline.')
param policy string = 'policy.yaml'

@description('PLSGATE_TABLE_PREFIX: prefix of plsgate\'s table names (letters and digits, starting with a letter).')
param tablePrefix string = ''

@description('RECONCILE_SCHEDULE: NCRONTAB schedule (six fields) of the reconciliation timer; every 2 minutes: the timer is the guaranteed path for cross-tenant requests.')
param reconcileSchedule string = '0 */2 * * * *'

@description('RECONCILE_CONCURRENCY: private link services reconciled at once during a scan.')
@minValue(1)
@maxValue(64)
param reconcileConcurrency int = 8

@description('RECONCILE_TIME_BUDGET: how long one timer scan may run, at most the gap between two timer runs (empty: plsgate derives it from RECONCILE_SCHEDULE).')
param reconcileTimeBudget string = ''

@description('FAILED_RETRY_INTERVAL: how long plsgate waits before retrying a decision ARM refused for good (e.g. 403) on an unchanged connection.')
param failedRetryInterval string = '6h'

@description('DRIFT_MODE: report (record and notify) or enforce (reject Approved connections no rule approves).')
@allowed([
  'report'
  'enforce'
])
param driftMode string = 'report'

@description('DRY_RUN: record decisions without ARM writes. true on a first deployment; set false once the history looks right.')
param dryRun bool = true

@description('AUTH_MODE for approve/reject through the API: entra (plsgate verifies an Entra ID bearer token itself; the default here), easyauth (App Service authentication validates it and plsgate reads X-MS-CLIENT-PRINCIPAL) or key (the function key alone; no approver list).')
@allowed([
  'key'
  'entra'
  'easyauth'
])
param authMode string = 'entra'

@description('AUTH_TENANT_ID: the Entra tenant whose tokens are accepted (default: the deployment\'s tenant).')
param authTenantId string = tenant().tenantId

@description('AUTH_AUDIENCE: the App ID URI of plsgate\'s API app registration (api://<appId>); deploy.sh creates the registration or takes --api-app-id. Required unless authMode is key.')
param authAudience string = ''

@description('Application (client) ID of plsgate\'s API app registration; required for authMode easyauth (App Service authentication\'s client ID).')
param apiAppId string = ''

@description('APPROVERS: comma-separated typed entries oid:<guid> | group:<guid> | role:<app role> | upn:<name> allowed to approve/reject through the API (deploy.sh sets role:Approver unless told otherwise).')
param approvers string = ''

@description('APPROVERS_FORCE: comma-separated typed entries allowed to override the policy with force=true.')
param approversForce string = ''

@description('NOTIFY_TOPIC_ENDPOINT: Event Grid topic endpoint for outcome CloudEvents (empty: no notifications).')
param notifyTopicEndpoint string = ''

@description('Resource ID of the notify topic (Microsoft.EventGrid/topics); when set, the identity gets EventGrid Data Sender on it.')
param notifyTopicResourceId string = ''

@description('ARM_ENDPOINT override; empty = the Resource Manager endpoint of the cloud deployed to (environment().resourceManager).')
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

@description('Create the Event Grid subscriptions to the ResourceEvents function. Leave false until the package is published: Event Grid refuses a function that does not exist yet (deploy.sh sets it in its second deployment).')
param deployEventSubscription bool = false

@description('Existing Microsoft.Resources.Subscriptions system topics to reuse, by lower-case subscription ID: { "<sub>": { "name": "...", "resourceGroup": "..." } }. Azure allows one per subscription; deploy.sh fills this in from az eventgrid system-topic list.')
param existingSystemTopics object = {}

@description('Also subscribe to Azure Resource Notifications (system topic type Microsoft.ResourceNotifications.Resources): CreatedOrUpdated/Deleted events that carry the private link service\'s body. Whether connection changes raise them is unverified; the deployer needs Microsoft.ResourceNotifications/systemTopics/subscribeToResources/action (Owner has it).')
param enableResourceNotifications bool = false

@description('Dead-letter undeliverable events into a blob container of the storage account (only from system topics created here, whose identities write them).')
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
// Refusals: a deployment that would succeed but do nothing fails before anything is deployed.
// fail() stops the evaluation with its message; every resource name depends on `token`, so the
// deployment is refused at validation, before any resource is written.
// source: azure-docs articles/azure-resource-manager/bicep/bicep-functions-flow-control.md (fail)
// ---------------------------------------------------------------------------------------------

var scopeGiven = !empty(scopeSubscriptionIds) || !empty(scopePlsIds)
var token = scopeGiven ? uniqueString(resourceGroup().id, name) : fail('plsgate needs a scope: set scopeSubscriptionIds and/or scopePlsIds (deploy.sh --scope-subscription / --scope-pls). Without one it would scan nothing and every call would get 403.')
var authAudienceSetting = authMode == 'key' || !empty(authAudience) ? authAudience : fail('authMode ${authMode} needs authAudience (the App ID URI of plsgate\'s API app registration; deploy.sh --api-app-id or let deploy.sh create it).')
var approversSetting = authMode == 'key' || !empty(approvers) ? approvers : fail('authMode ${authMode} needs approvers (e.g. role:Approver): an empty list would let any signed-in user of the tenant decide.')
// v2.0 access tokens carry the client ID as audience, v1.0 tokens the App ID URI: accept both.
var authAudiences = empty(apiAppId) ? authAudienceSetting : '${authAudienceSetting},${apiAppId}'
var easyAuthClientId = authMode != 'easyauth' || !empty(apiAppId) ? apiAppId : fail('authMode easyauth needs apiAppId (the API app registration\'s client ID).')

// ---------------------------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------------------------

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

// plsgate's tables (internal/store: connections, transitions, runs, bindings), created here so that the
// first run does not depend on a create-table call.
var tableNames = [
  'connections'
  'transitions'
  'runs'
  'bindings' // which connection each Web PubSub shared private link resource instance vouched for (internal/store/bindings.go)
]

// Built-in role IDs (azure-docs role-based-access-control/built-in-roles.md).
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// The cloud this is deployed to decides every endpoint (sovereign clouds): storage service URIs
// from environment().suffixes.storage, the Entra authority from
// environment().authentication.loginEndpoint and Resource Manager from
// environment().resourceManager. Both URLs carry a trailing slash in the environment metadata
// (e.g. "https://login.microsoftonline.com/"); plsgate's settings take them without one.
// source: azure-docs articles/azure-resource-manager/bicep/bicep-functions-deployment.md (environment()); Azure/azure-powershell Add-AzEnvironment help (cloud metadata: authentication.loginEndpoint, resourceManager, suffixes.storage)
var storageSuffix = environment().suffixes.storage
var blobServiceUri = 'https://${storageName}.blob.${storageSuffix}'
var queueServiceUri = 'https://${storageName}.queue.${storageSuffix}'
var tablesEndpoint = 'https://${storageName}.table.${storageSuffix}'
var loginEndpoint = environment().authentication.loginEndpoint
var authorityHost = endsWith(loginEndpoint, '/') ? substring(loginEndpoint, 0, length(loginEndpoint) - 1) : loginEndpoint
var cloudResourceManager = environment().resourceManager
var armEndpointSetting = !empty(armEndpoint) ? armEndpoint : (endsWith(cloudResourceManager, '/') ? substring(cloudResourceManager, 0, length(cloudResourceManager) - 1) : cloudResourceManager)

var deadLetterEnabled = enableDeadLetter
var notificationsTopicName = 'evgt-${name}-${token}-arn'

// Parts of the notify topic's ID; a well-formed stand-in when none is given, so that the
// skipped module's scope still evaluates.
var notifyTopic = split(empty(notifyTopicResourceId) ? '${resourceGroup().id}/providers/Microsoft.EventGrid/topics/none' : notifyTopicResourceId, '/')

// Every subscription the role may be assigned in (a role definition lists its assignable scopes).
var scopeSubscriptionScopes = map(scopeSubscriptionIds, s => toLower('/subscriptions/${s}'))
var plsSubscriptionScopes = map(scopePlsIds, id => toLower('/subscriptions/${split(id, '/')[2]}'))
var webPubSubSubscriptionScopes = map(webPubSubIds, id => toLower('/subscriptions/${split(id, '/')[2]}'))
var assignableScopes = union([toLower(subscription().id)], scopeSubscriptionScopes, plsSubscriptionScopes, webPubSubSubscriptionScopes)

// Every subscription whose Resource Manager events plsgate acts on: the scope subscriptions, the
// subscriptions of SCOPE_PLS_IDS services (connection writes on them) and of WEBPUBSUB_IDS
// resources (the seed's shared private link write). Resource Manager events are raised in the
// subscription where the operation happens, so each gets its topic and event subscription.
var ownSubscription = toLower(subscription().subscriptionId)
var eventSubscriptionIds = union(map(scopeSubscriptionIds, s => toLower(s)), map(scopePlsIds, id => toLower(split(id, '/')[2])), map(webPubSubIds, id => toLower(split(id, '/')[2])))
var eventSources = [
  for sub in eventSubscriptionIds: {
    subscriptionId: sub
    reuse: contains(existingSystemTopics, sub)
    topicName: existingSystemTopics[?sub].?name ?? 'evgt-${name}-${token}'
    resourceGroup: existingSystemTopics[?sub].?resourceGroup ?? (sub == ownSubscription ? resourceGroup().name : 'rg-${name}-events-${token}')
    createResourceGroup: !contains(existingSystemTopics, sub) && sub != ownSubscription
    deadLetter: deadLetterEnabled && !contains(existingSystemTopics, sub)
  }
]

// ---------------------------------------------------------------------------------------------
// Identity, monitoring, storage
// ---------------------------------------------------------------------------------------------

// The only credential plsgate and the host use (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).
// source: Azure/bicep-types-az generated/msi/microsoft.managedidentity/2023-01-31/types.md; Azure-Samples/mcp-sdk-functions-hosting-python infra/app/mcp.bicep (user-assigned identity on an FC1 app)
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

// source: Azure/bicep-types-az generated/operationalinsights/microsoft.operationalinsights/2023-09-01/types.md (sku PerGB2018, retentionInDays)
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
// source: Azure/bicep-types-az generated/applicationinsights/microsoft.insights/2020-02-02/types.md (DisableLocalAuth "Disable Non-AAD based Auth", WorkspaceResourceId required); Azure-Samples/mcp-sdk-functions-hosting-python infra/app/mcp.bicep (APPLICATIONINSIGHTS_AUTHENTICATION_STRING ClientId=...;Authorization=AAD)
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

// Shared-key access off ("all requests ... must be authorized with Azure AD"): the host, the
// deployment and plsgate all use the identity; Event Grid dead-letters with its topic's identity.
// source: Azure/bicep-types-az generated/storage/microsoft.storage/2023-05-01/types.md (allowSharedKeyAccess, defaultToOAuthAuthentication); Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep (Flex app with allowSharedKeyAccess: false)
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

// source: Azure/bicep-types-az generated/storage/microsoft.storage/2023-05-01/types.md (blobServices name 'default')
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The Flex deployment container (functionAppConfig.deployment.storage).
// source: Azure/bicep-types-az generated/storage/microsoft.storage/2023-05-01/types.md (containers, publicAccess); Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// source: Azure/bicep-types-az generated/storage/microsoft.storage/2023-05-01/types.md (containers)
resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (deadLetterEnabled) {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

// source: Azure/bicep-types-az generated/storage/microsoft.storage/2023-05-01/types.md (tableServices name 'default')
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// source: Azure/bicep-types-az generated/storage/microsoft.storage/2023-05-01/types.md (tableServices/tables)
resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for t in tableNames: {
    parent: tableService
    name: '${tablePrefix}${t}'
  }
]

// Storage roles on this account only: the host's minimum for identity-based host storage
// (Storage Blob Data Owner; the Flex deployment container too) and plsgate's tables.
// source: azure-docs includes/functions-azurewebjobsstorage-permissions.md; Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/rbac.bicep (Blob Data Owner b7e6dc6d-…); Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md
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

// source: Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/rbac.bicep (Table Data Contributor 0a9a7e1f-…); Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md
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

// source: Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/rbac.bicep (Monitoring Metrics Publisher 3913510d-… on App Insights for Entra ingestion)
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

// source: Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep (sku FC1 / FlexConsumption, reserved: true)
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

// functionAppConfig.runtime.name 'custom' is the custom-handler stack (the host starts
// host.json's customHandler executable, plsgate serve); on Flex it replaces
// FUNCTIONS_WORKER_RUNTIME. The deployment container is read with the user-assigned identity.
// source: Azure/bicep-types-az generated/web/microsoft.web/2024-04-01/types.md (FunctionsRuntime name 'custom' | …; FunctionsDeploymentStorageAuthentication UserAssignedIdentity); Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep
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

// Every app setting, in one place: the host's (identity-based storage with explicit service
// URIs for any cloud, telemetry) and every setting of internal/config.Settings except the
// deliberate omissions listed in infra/README.md (connection-string and key forms: with the
// managed identity they stay empty). infra_test.go checks this block against config.Settings.
// source: Azure/bicep-types-az generated/web/microsoft.web/2024-04-01/types.md (sites/config name 'appsettings'); Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/main.bicep (AzureWebJobsStorage__credential + __blobServiceUri/__queueServiceUri/__tableServiceUri from environment().suffixes.storage); azure-docs articles/azure-functions/functions-reference.md#connecting-to-host-storage-with-an-identity (__clientId selects the user-assigned identity)
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    AzureWebJobsStorage__blobServiceUri: blobServiceUri
    AzureWebJobsStorage__queueServiceUri: queueServiceUri
    AzureWebJobsStorage__tableServiceUri: tablesEndpoint
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
    FAILED_RETRY_INTERVAL: failedRetryInterval
    DRIFT_MODE: driftMode
    DRY_RUN: dryRun ? 'true' : 'false'
    WEBPUBSUB_IDS: join(webPubSubIds, ',')
    AUTH_MODE: authMode
    AUTH_TENANT_ID: authMode == 'key' ? '' : authTenantId
    AUTH_AUDIENCE: authAudiences
    AUTH_AUTHORITY_HOST: authorityHost
    APPROVERS: approversSetting
    APPROVERS_FORCE: approversForce
    NOTIFY_TOPIC_ENDPOINT: notifyTopicEndpoint
    AZURE_CLIENT_ID: identity.properties.clientId
    ARM_ENDPOINT: armEndpointSetting
    PLSGATE_LOG_LEVEL: logLevel
  }
  dependsOn: [
    tableContributor
    metricsPublisher
    tables
  ]
}

// AUTH_MODE=easyauth only: App Service authentication validates Entra tokens for the app (issuer
// of the tenant, the API's audience) and answers 401 without one, before the host. Excluded:
// /runtime/webhooks/eventgrid, the Event Grid extension's webhook that Event Grid delivers
// ResourceEvents to (and validates the subscription at) with the system key and no bearer token;
// without the exclusion every delivery would get 401, which Event Grid does not retry for
// webhooks. Flex Consumption: the May 2024 plan document listed EasyAuth as unsupported, the
// current one does not, and Microsoft's MCP sample deploys authsettingsV2 on an FC1 app.
// source: Azure/bicep-types-az generated/web/microsoft.web/2024-04-01/types.md (authsettingsV2; GlobalValidation.excludedPaths "paths for which unauthenticated flow would not be redirected", unauthenticatedClientAction Return401); azure-docs articles/app-service/configure-authentication-file-based.md (ms.date 07/15/2021: globalValidation.excludedPaths, wildcards); Azure-Samples/mcp-sdk-functions-hosting-python infra/app/mcp.bicep (authsettingsV2 on FC1, openIdIssuer from environment().authentication.loginEndpoint); azure-docs articles/azure-functions/functions-bindings-event-grid-trigger.md (webhook /runtime/webhooks/eventgrid)
resource easyAuth 'Microsoft.Web/sites/config@2024-04-01' = if (authMode == 'easyauth') {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${loginEndpoint}${authTenantId}/v2.0'
          clientId: easyAuthClientId
        }
        validation: {
          allowedAudiences: [
            authAudienceSetting
            easyAuthClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
  dependsOn: [
    appSettings
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
// Event Grid: a system topic in every watched subscription (created, or the existing one reused),
// and (deployEventSubscription=true, after the package is published) the event subscriptions to
// ResourceEvents. Delivery from a topic in another subscription to this function: unverified
// (Event Grid checks the deployer's rights on the function; the destination is a resource ID).
// ---------------------------------------------------------------------------------------------

module topics 'modules/subscription-topics.bicep' = [
  for (src, i) in eventSources: {
    name: 'plsgate-topics-${i}-${token}'
    scope: subscription(src.subscriptionId)
    params: {
      resourceGroupName: src.resourceGroup
      createResourceGroup: src.createResourceGroup
      location: location
      tags: tags
      createTopic: !src.reuse
      topicName: src.topicName
      enableResourceNotifications: enableResourceNotifications
      notificationsTopicName: notificationsTopicName
    }
  }
]

// Each topic's own identity writes its dead letters: no storage key is needed (shared keys are
// off). Dead-lettering with the topic's identity needs Storage Blob Data Contributor.
// source: azure-docs articles/event-grid/managed-service-identity.md ("member of the Storage Blob Data Contributor role on the storage account that's used for dead-lettering"); Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md
resource deadLetterWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (src, i) in eventSources: if (src.deadLetter) {
    name: guid(storage.id, deadLetterContainerName, roleIds.storageBlobDataContributor, src.subscriptionId, 'resources')
    scope: deadLetterContainer
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
      principalId: topics[i].outputs.topicPrincipalId
      principalType: 'ServicePrincipal'
      description: 'plsgate: Event Grid dead letters (Resource Manager events of subscription ${src.subscriptionId})'
    }
  }
]

// source: azure-docs articles/event-grid/managed-service-identity.md; Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md
resource notificationsDeadLetterWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (src, i) in eventSources: if (deadLetterEnabled && enableResourceNotifications) {
    name: guid(storage.id, deadLetterContainerName, roleIds.storageBlobDataContributor, src.subscriptionId, 'notifications')
    scope: deadLetterContainer
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
      principalId: topics[i].outputs.notificationsPrincipalId
      principalType: 'ServicePrincipal'
      description: 'plsgate: Event Grid dead letters (Resource Notifications of subscription ${src.subscriptionId})'
    }
  }
]

module eventSubscriptions 'modules/event-subscription.bicep' = [
  for (src, i) in eventSources: if (deployEventSubscription) {
    name: 'plsgate-events-${i}-${token}'
    scope: resourceGroup(src.subscriptionId, src.resourceGroup)
    params: {
      systemTopicName: src.topicName
      eventSubscriptionName: '${name}-resource-events'
      source: 'resources'
      functionResourceId: '${functionApp.id}/functions/${eventsFunctionName}'
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
      deadLetterStorageAccountId: src.deadLetter ? storage.id : ''
      deadLetterContainerName: deadLetterContainerName
    }
    dependsOn: [
      topics
      deadLetterWriters
      appSettings
    ]
  }
]

module notificationsSubscriptions 'modules/event-subscription.bicep' = [
  for (src, i) in eventSources: if (deployEventSubscription && enableResourceNotifications) {
    name: 'plsgate-notifications-${i}-${token}'
    scope: resourceGroup(src.subscriptionId, src.resourceGroup)
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
      topics
      notificationsDeadLetterWriters
      appSettings
    ]
  }
]

// ---------------------------------------------------------------------------------------------
// Outputs (deploy.sh and infra/README.md use them)
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output storageAccountName string = storage.name
output tablesEndpoint string = tablesEndpoint
output eventSubscriptionIds array = eventSubscriptionIds
output systemTopics array = [for src in eventSources: '${src.subscriptionId}/${src.resourceGroup}/${src.topicName}']
output customRoleId string = role.outputs.roleDefinitionId
output eventSubscriptionDeployed bool = deployEventSubscription
output authMode string = authMode
output authAudience string = authAudienceSetting
output dryRun bool = dryRun
