// EventGrid Data Sender (d5a91429-5739-47e2-a06b-3470a27159e7, azure-docs built-in-roles) for
// plsgate's identity on the notify topic only: NOTIFY_TOPIC_KEY stays empty.
targetScope = 'resourceGroup'

param topicName string
param principalId string

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

// source: Azure/bicep-types-az generated/eventgrid/microsoft.eventgrid/2025-02-15/types.md (Microsoft.EventGrid/topics)
resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

// A role assignment scoped to one resource grants nothing outside it (RBAC scope inheritance goes downwards only).
// source: azure-docs articles/role-based-access-control/scope-overview.md; Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md (roleAssignments: roleDefinitionId, principalId, principalType)
resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, eventGridDataSender)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: publish outcome events'
  }
}
