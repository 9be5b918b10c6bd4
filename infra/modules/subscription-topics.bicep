// The Event Grid system topics of one subscription plsgate watches (a scope subscription, the
// subscription of a SCOPE_PLS_IDS service or of a WEBPUBSUB_IDS resource): Resource Manager
// events are raised in the subscription where the operation happens, so every one of them
// needs its own topic. Azure allows one system topic per source: when the subscription already
// has one (existingTopicName), it is reused and only the event subscription is added to it.
// The event subscriptions themselves are deployed by main.bicep (modules/event-subscription.bicep)
// once the function exists.
targetScope = 'subscription'

@description('Resource group of the topics in this subscription.')
param resourceGroupName string

@description('Create resourceGroupName (false when it exists: the deployment\'s own group, or the group of a reused topic).')
param createResourceGroup bool

param location string
param tags object = {}

@description('Create the Microsoft.Resources.Subscriptions topic (false: reuse the existing one named topicName).')
param createTopic bool
param topicName string

@description('Also create the Azure Resource Notifications topic (Microsoft.ResourceNotifications.Resources).')
param enableResourceNotifications bool = false
param notificationsTopicName string

// The group is a subscription-scope resource; a location is required and cannot change later.
// source: Azure/bicep-types-az generated/resources_11/microsoft.resources/2024-03-01/types.md (Microsoft.Resources/resourceGroups, writable at Subscription scope; location required, immutable)
resource eventsGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (createResourceGroup) {
  name: resourceGroupName
  location: location
  tags: tags
}

module topics 'system-topics.bicep' = {
  name: 'plsgate-topics-${uniqueString(subscription().id, resourceGroupName, topicName)}'
  scope: resourceGroup(resourceGroupName)
  params: {
    createTopic: createTopic
    topicName: topicName
    enableResourceNotifications: enableResourceNotifications
    notificationsTopicName: notificationsTopicName
    tags: tags
  }
  dependsOn: [
    eventsGroup
  ]
}

output resourceGroupName string = resourceGroupName
output topicPrincipalId string = topics.outputs.topicPrincipalId
output notificationsPrincipalId string = topics.outputs.notificationsPrincipalId
