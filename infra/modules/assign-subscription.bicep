// Assigns plsgate's custom role to its identity at one subscription (SCOPE_SUBSCRIPTIONS).
// The custom role is addressed in this subscription: a role definition is valid in every one of
// its assignable scopes.
targetScope = 'subscription'

param roleGuid string
param principalId string

// Assigned at the subscription: it covers every resource in it (RBAC scopes inherit downwards).
// source: azure-docs articles/role-based-access-control/scope-overview.md; Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md
resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: approve private endpoint connections by policy in this subscription'
  }
}
