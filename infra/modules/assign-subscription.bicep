// Assigns plsgate's custom role to its identity at one subscription (SCOPE_SUBSCRIPTIONS).
// The custom role is addressed in this subscription: a role definition is valid in every one of
// its assignable scopes.
targetScope = 'subscription'

param roleGuid string
param principalId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'plsgate: approve private endpoint connections by policy in this subscription'
  }
}
