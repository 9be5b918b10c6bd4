// Assigns plsgate's custom role to its identity on one private link service (SCOPE_PLS_IDS):
// nothing in the rest of that resource group or subscription.
targetScope = 'resourceGroup'

param plsName string
param roleGuid string
param principalId string

resource pls 'Microsoft.Network/privateLinkServices@2024-05-01' existing = {
  name: plsName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(pls.id, principalId, roleGuid)
  scope: pls
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: approve private endpoint connections of this private link service by policy'
  }
}
