// plsgate's least-privilege custom role: exactly the ARM actions internal/arm calls
// (../role-actions.json, checked against arm.Operations by infra_test.go). Defined once in the
// deploying subscription; assignable in every subscription plsgate is told to look at.
// Shape: Microsoft.Authorization/roleDefinitions@2022-04-01 (type CustomRole, permissions,
// assignableScopes), azure-docs role-based-access-control/custom-roles-bicep.md.
targetScope = 'subscription'

@description('Display name of the role; unique in the tenant.')
param roleName string

@description('Subscriptions (/subscriptions/ID) where the role may be assigned.')
param assignableScopes array

@description('Add the Resource Graph read action (SCOPE_RESOURCE_GRAPH=true).')
param includeResourceGraph bool = false

var roleActions = loadJsonContent('../role-actions.json')

// A custom role is one tenant-wide definition usable at every one of its assignableScopes.
// source: azure-docs articles/role-based-access-control/custom-roles-bicep.md; Azure/bicep-types-az generated/authorization/microsoft.authorization/2022-04-01/types.md (RoleDefinitionProperties: roleName, type, permissions, assignableScopes)
resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'plsgate: read private link services and their connections, approve or reject private endpoint connections, read private endpoints and Web PubSub shared private link resources. Nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: concat(roleActions.actions, includeResourceGraph ? roleActions.resourceGraphActions : [])
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

output roleGuid string = role.name
output roleDefinitionId string = role.id
