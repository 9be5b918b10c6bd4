// EventGrid Data Sender (d5a91429-5739-47e2-a06b-3470a27159e7, azure-docs built-in-roles) for
// plsgate's identity on the notify topic only: NOTIFY_TOPIC_KEY stays empty.
targetScope = 'resourceGroup'

param topicName string
param principalId string

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

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
