// Assigns plsgate's custom role to its identity on one Web PubSub resource (WEBPUBSUB_IDS), so
// that it can read the shared private link resources that verify requesters (verifiedBy:
// webPubSub). The role holds no Web PubSub write action.
targetScope = 'resourceGroup'

param webPubSubName string
param roleGuid string
param principalId string

// source: Azure/bicep-types-az generated/webpubsub/microsoft.signalrservice/2024-03-01/types.md (Microsoft.SignalRService/webPubSub)
resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

// A role assignment scoped to one resource grants nothing outside it (RBAC scope inheritance goes downwards only).
// source: azure-docs articles/role-based-access-control/scope-overview.md; Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md (roleAssignments: roleDefinitionId, principalId, principalType)
resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webPubSub.id, principalId, roleGuid)
  scope: webPubSub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: read shared private link resources of this Web PubSub'
  }
}
