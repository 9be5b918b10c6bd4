// Assigns plsgate's custom role to its identity on one private link service (SCOPE_PLS_IDS):
// nothing in the rest of that resource group or subscription.
targetScope = 'resourceGroup'

param plsName string
param roleGuid string
param principalId string

// source: Azure/bicep-types-az generated/network/microsoft.network/2024-05-01/types.md (Microsoft.Network/privateLinkServices)
resource pls 'Microsoft.Network/privateLinkServices@2024-05-01' existing = {
  name: plsName
}

// A role assignment scoped to one resource grants nothing outside it (RBAC scope inheritance goes downwards only).
// source: azure-docs articles/role-based-access-control/scope-overview.md; Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md (roleAssignments: roleDefinitionId, principalId, principalType)
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
