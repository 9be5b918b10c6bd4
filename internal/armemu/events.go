package armemu

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"
)

// Event types the emulated Azure emits.
const (
	EventResourceWriteSuccess  = "Microsoft.Resources.ResourceWriteSuccess"
	EventResourceDeleteSuccess = "Microsoft.Resources.ResourceDeleteSuccess"
	EventResourceCreatedOrUpd  = "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated"
)

const (
	evWriteSuccess  = EventResourceWriteSuccess
	evDeleteSuccess = EventResourceDeleteSuccess
)

// Event is one emitted event in Event Grid schema (its JSON is exactly what
// the sink receives in that schema).
type Event struct {
	ID              string          `json:"id"`
	Topic           string          `json:"topic"`
	Subject         string          `json:"subject"`
	EventType       string          `json:"eventType"`
	EventTime       time.Time       `json:"eventTime"`
	Data            json.RawMessage `json:"data"`
	DataVersion     string          `json:"dataVersion"`
	MetadataVersion string          `json:"metadataVersion"`
}

// cloudEvent is the CloudEvents 1.0 rendering of an Event (Event Grid maps
// topic→source, eventType→type, eventTime→time).
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

func (ev Event) cloud() cloudEvent {
	return cloudEvent{SpecVersion: "1.0", ID: ev.ID, Source: ev.Topic, Subject: ev.Subject, Type: ev.EventType, Time: ev.EventTime, DataContentType: "application/json", Data: ev.Data}
}

// writeData is the data of Microsoft.Resources.Resource{Write,Delete}Success
// (azure-docs event-schema-subscriptions.md; azsystemevents v1.0.0
// ResourceWriteSuccessEventData: authorization, claims, correlationId,
// httpRequest, operationName, resourceProvider, resourceUri, status,
// subscriptionId, tenantId).
type writeData struct {
	Authorization    writeAuthz        `json:"authorization"`
	Claims           map[string]string `json:"claims"`
	CorrelationID    string            `json:"correlationId"`
	HTTPRequest      writeHTTP         `json:"httpRequest"`
	ResourceProvider string            `json:"resourceProvider"`
	ResourceURI      string            `json:"resourceUri"`
	OperationName    string            `json:"operationName"`
	Status           string            `json:"status"`
	SubscriptionID   string            `json:"subscriptionId"`
	TenantID         string            `json:"tenantId"`
}

type writeAuthz struct {
	Scope    string            `json:"scope"`
	Action   string            `json:"action"`
	Evidence map[string]string `json:"evidence"`
}

type writeHTTP struct {
	ClientRequestID string `json:"clientRequestId"`
	ClientIPAddress string `json:"clientIpAddress"`
	Method          string `json:"method"`
	URL             string `json:"url"`
}

// arnData is the data of Microsoft.ResourceNotifications.Resources.CreatedOrUpdated
// (azsystemevents ResourceNotificationsResourceManagementCreatedOrUpdatedEventData:
// resourceInfo{id,name,type,location,tags,properties}, apiVersion,
// operationalInfo{resourceEventTime}).
type arnData struct {
	ResourceInfo    arnResource `json:"resourceInfo"`
	APIVersion      string      `json:"apiVersion"`
	OperationalInfo struct {
		ResourceEventTime time.Time `json:"resourceEventTime"`
	} `json:"operationalInfo"`
}

type arnResource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties wirePLSProps      `json:"properties"`
}

// Built-in role definition IDs quoted in authorization.evidence.
var roleFor = map[string][2]string{
	"Microsoft.Network":        {"Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7"},
	"Microsoft.SignalRService": {"Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"},
}

func guidOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return guidFromBytes(sum[:16])
}

// emitWriteLocked emits Resource{Write,Delete}Success for a write sent to
// subscription topicSub (the system topic of that subscription receives it).
func (e *Emulator) emitWriteLocked(eventType, topicSub, resourceURI, operationName string, a actor) {
	if e.bus.opts().DisableWriteSuccess {
		return
	}
	provider, _, _ := strings.Cut(operationName, "/")
	role := roleFor[provider]
	d := writeData{
		Authorization: writeAuthz{
			Scope:  resourceURI,
			Action: operationName,
			Evidence: map[string]string{
				"role":                role[0],
				"roleAssignmentScope": "/subscriptions/" + topicSub,
				"roleAssignmentId":    strings.ReplaceAll(guidOf("ra", a.principalID, topicSub), "-", ""),
				"roleDefinitionId":    strings.ReplaceAll(role[1], "-", ""),
				"principalId":         strings.ReplaceAll(a.principalID, "-", ""),
				"principalType":       a.principalType,
			},
		},
		Claims:           a.claims,
		CorrelationID:    a.correlationID,
		HTTPRequest:      writeHTTP{ClientRequestID: a.clientRequestID, ClientIPAddress: a.clientIP, Method: a.method, URL: a.url},
		ResourceProvider: provider,
		ResourceURI:      resourceURI,
		OperationName:    operationName,
		Status:           "Succeeded",
		SubscriptionID:   topicSub,
		TenantID:         e.tenantOfLocked(topicSub),
	}
	data, _ := json.Marshal(d)
	e.bus.publish(Event{
		ID:              e.newGUID(),
		Topic:           "/subscriptions/" + topicSub,
		Subject:         resourceURI,
		EventType:       eventType,
		EventTime:       e.now().UTC(),
		Data:            data,
		DataVersion:     "",
		MetadataVersion: "1",
	})
}

// emitARNLocked emits ResourceNotifications CreatedOrUpdated carrying p's
// full body, in p's subscription.
func (e *Emulator) emitARNLocked(p *PrivateLinkService) {
	if e.bus.opts().DisableResourceNotifications {
		return
	}
	w := renderPLS(p)
	tags := p.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	var d arnData
	d.ResourceInfo = arnResource{ID: p.ID, Name: p.Name, Type: typePLS, Location: p.Location, Tags: tags, Properties: w.Properties}
	d.APIVersion = latestNetworkVersion
	now := e.now().UTC()
	d.OperationalInfo.ResourceEventTime = now
	data, _ := json.Marshal(d)
	e.bus.publish(Event{
		ID:              e.newGUID(),
		Topic:           "/subscriptions/" + p.SubscriptionID,
		Subject:         p.ID,
		EventType:       EventResourceCreatedOrUpd,
		EventTime:       now,
		Data:            data,
		DataVersion:     "1",
		MetadataVersion: "1",
	})
}

// When a shared private link resource's write event is raised (EventOptions.SharedLinkWriteAt).
const (
	SharedLinkAtAccepted  = "accepted"
	SharedLinkAtCompleted = "completed"
)

// Cross-subscription event modes (EventOptions.CrossSubscription).
const (
	CrossNone                  = "none"
	CrossResourceNotifications = "resourceNotifications"
	CrossWriteSuccess          = "writeSuccess"
)

// plsChangedLocked emits what the PLS owner's subscription sees when p's body
// changed because of a write sent to subscription via. A write in the owner's
// own subscription changes a resource there: Resource Notifications reports
// it. A connection requested from another subscription/tenant (a consumer's
// private endpoint, Web PubSub's managed one) is not documented to cause any
// event in the owner's subscription: EventOptions.CrossSubscription decides.
func (e *Emulator) plsChangedLocked(p *PrivateLinkService, via string, a actor, connID string, deleted bool) {
	if strings.EqualFold(via, p.SubscriptionID) {
		e.emitARNLocked(p)
		return
	}
	switch e.bus.opts().CrossSubscription {
	case CrossResourceNotifications:
		e.emitARNLocked(p)
	case CrossWriteSuccess:
		typ, op := evWriteSuccess, "Microsoft.Network/privateLinkServices/privateEndpointConnections/write"
		if deleted {
			typ, op = evDeleteSuccess, "Microsoft.Network/privateLinkServices/privateEndpointConnections/delete"
		}
		if connID == "" {
			connID = p.ID
		}
		e.emitWriteLocked(typ, p.SubscriptionID, connID, op, a)
	}
}
