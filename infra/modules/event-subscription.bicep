// An Event Grid subscription that delivers to the ResourceEvents function, filtered to what
// internal/events treats as relevant (../eventgrid-filter.json, checked by infra_test.go). Deploy
// it only after the package is published: Event Grid looks the function up when the subscription
// is created.
//
// Two sources (param source):
// - 'resources': the subscription's Resource Manager events (system topic type
//   Microsoft.Resources.Subscriptions), Event Grid schema, StringBeginsWith on data.operationName.
// - 'notifications': Azure Resource Notifications (system topic type
//   Microsoft.ResourceNotifications.Resources, events carrying the resource body), CloudEvents 1.0
//   (the schema those events are documented in), StringIn on data.resourceInfo.type.
//   azure-docs event-grid/event-schema-resources.md.
//
// Shape (Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15): destination
// endpointType 'AzureFunction' with properties.resourceId = <site ID>/functions/<name>;
// filter.includedEventTypes; filter.advancedFilters [{operatorType, key, values}]; retryPolicy
// {maxDeliveryAttempts, eventTimeToLiveInMinutes}; deadLetterWithResourceIdentity {identity,
// deadLetterDestination {endpointType: 'StorageBlob', properties {resourceId, blobContainerName}}}.
// Sources: Azure/bicep-registry-modules avm/res/event-grid/system-topic/event-subscription;
// azure-docs event-grid/delivery-and-retry.md (30 attempts, 1440 minutes) and advanced filters
// (at most 25 values in all, string comparisons case-insensitive).
targetScope = 'resourceGroup'

param systemTopicName string
param eventSubscriptionName string

@description('Which system topic this is: resources (Microsoft.Resources.Subscriptions) or notifications (Microsoft.ResourceNotifications.Resources).')
@allowed([
  'resources'
  'notifications'
])
param source string = 'resources'

@description('<function app resource ID>/functions/ResourceEvents')
param functionResourceId string

param maxDeliveryAttempts int = 30
param eventTimeToLiveInMinutes int = 1440

@description('Storage account for dead letters; empty: no dead-lettering (events are dropped after the last attempt; the timer reconciliation still converges).')
param deadLetterStorageAccountId string = ''
param deadLetterContainerName string = ''

var relevant = loadJsonContent('../eventgrid-filter.json')

var filters = {
  resources: {
    includedEventTypes: relevant.resources.includedEventTypes
    advancedFilters: [
      {
        operatorType: 'StringBeginsWith'
        key: 'data.operationName'
        values: relevant.resources.operationNamePrefixes
      }
    ]
  }
  notifications: {
    includedEventTypes: relevant.notifications.includedEventTypes
    advancedFilters: [
      {
        operatorType: 'StringIn'
        key: 'data.resourceInfo.type'
        values: relevant.notifications.resourceTypes
      }
    ]
  }
}

// The system topic's own identity writes the dead letters (main.bicep gives it Storage Blob Data
// Contributor on the container): no storage key.
var deadLetter = {
  identity: {
    type: 'SystemAssigned'
  }
  deadLetterDestination: {
    endpointType: 'StorageBlob'
    properties: {
      resourceId: deadLetterStorageAccountId
      blobContainerName: deadLetterContainerName
    }
  }
}

// source: Azure/bicep-types-az generated/eventgrid/microsoft.eventgrid/2025-02-15/types.md (Microsoft.EventGrid/systemTopics, ResourceGroup scope)
resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

// Destination AzureFunction by resource ID: Event Grid checks the deployer's rights on the function
// and fetches its key itself (Azure/azure-cli#10879, Event Grid team comment 2019-12-11).
// deadLetterWithResourceIdentity: the topic's own identity writes dead letters; it needs Storage
// Blob Data Contributor on the account (azure-docs articles/event-grid/managed-service-identity.md).
// source: Azure/bicep-types-az generated/eventgrid/microsoft.eventgrid/2025-02-15/types.md (EventSubscriptionProperties, AzureFunctionEventSubscriptionDestinationProperties, DeadLetterWithResourceIdentity); azure-docs articles/event-grid/delivery-and-retry.md
resource eventSub 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: eventSubscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: source == 'notifications' ? 'CloudEventSchemaV1_0' : 'EventGridSchema'
    filter: filters[source]
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: empty(deadLetterStorageAccountId) ? null : deadLetter
  }
}

output id string = eventSub.id
