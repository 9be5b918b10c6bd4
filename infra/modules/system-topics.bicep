// The system topics of one subscription, in a resource group of that subscription
// (modules/subscription-topics.bicep explains which subscriptions get them).
targetScope = 'resourceGroup'

param createTopic bool
param topicName string
param enableResourceNotifications bool = false
param notificationsTopicName string
param tags object = {}

// A subscription's system topic: source = the subscription ID, topicType
// Microsoft.Resources.Subscriptions, location 'global' (a global source has no region), one per
// source. Its system-assigned identity writes dead letters (no storage key): identities are
// allowed on system topics of global sources (azure-docs
// articles/event-grid/enable-identity-system-topics.md, ms.date 11/02/2021, which supersedes the
// 03/25/2021 text that said they were not).
// source: azure-docs articles/event-grid/enable-identity-system-topics.md (ms.date 11/02/2021); articles/event-grid/system-topics.md; Azure/bicep-types-az generated/eventgrid/microsoft.eventgrid/2025-02-15/types.md (systemTopics: identity IdentityInfo, properties.source, properties.topicType)
resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createTopic) {
  name: topicName
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

// Azure Resource Notifications for the subscription (opt-in): topicType
// Microsoft.ResourceNotifications.Resources, subscription source, location 'global'.
// source: azure-docs articles/event-grid/event-schema-resources.md (topic type, subscription scope, CreatedOrUpdated/Deleted); Azure/bicep-types-az generated/eventgrid/microsoft.eventgrid/2025-02-15/types.md
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

output topicPrincipalId string = createTopic ? systemTopic!.identity.principalId : ''
output notificationsPrincipalId string = enableResourceNotifications ? notificationsTopic!.identity.principalId : ''
