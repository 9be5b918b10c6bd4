package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store/tablekey"
)

// Kind says what a relevant event asks the caller to do.
type Kind int

const (
	// Irrelevant: acknowledge, no ARM or Table call.
	Irrelevant Kind = iota
	// ResourceChanged: a write/action/delete succeeded on a resource of a
	// registered kind (a private link service, …) or one of its connections:
	// reconcile Hint.ResourceIDs.
	ResourceChanged
	// ResourceNotification: Azure Resource Notifications sent such a
	// resource's body: reconcile Hint.ResourceIDs unless Hint.HasPending is false.
	ResourceNotification
	// PrivateEndpointWritten: a private endpoint was written in a watched
	// subscription: read Hint.PrivateEndpointID (1 ARM GET) and reconcile its
	// targets that Classifier.InScope accepts.
	PrivateEndpointWritten
	// SharedPrivateLinkWritten: a configured Web PubSub resource (WEBPUBSUB_IDS)
	// wrote one of its shared private link resources: read it (1 ARM GET) and
	// reconcile the private link service it targets, if in scope.
	SharedPrivateLinkWritten
	// SharedPrivateLinkDeleted: such a resource was deleted: reconcile the
	// private link service plsgate's binding for it names, if any.
	SharedPrivateLinkDeleted
)

func (k Kind) String() string {
	switch k {
	case Irrelevant:
		return "irrelevant"
	case ResourceChanged:
		return "resource-changed"
	case ResourceNotification:
		return "resource-notification"
	case PrivateEndpointWritten:
		return "private-endpoint-written"
	case SharedPrivateLinkWritten:
		return "shared-private-link-written"
	case SharedPrivateLinkDeleted:
		return "shared-private-link-deleted"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Hint is what an event tells plsgate. Events are hints: the caller re-reads
// ARM before deciding anything.
type Hint struct {
	EventID, EventType, Subject string
	Schema                      string // SchemaEventGrid | SchemaCloudEvents
	Kind                        Kind
	// ResourceIDs are the normalized (resource.Normalize) IDs of the resources
	// to reconcile; connection IDs are reduced to their resource.
	ResourceIDs []string
	// PrivateEndpointID is set for PrivateEndpointWritten (as the event spelled it).
	PrivateEndpointID string
	// SharedPrivateLinkID is set for SharedPrivateLink{Written,Deleted}.
	SharedPrivateLinkID string
	// HasPending is set from a Resource Notifications body: false means no
	// connection of the service is Pending, so the caller may skip the reconcile.
	// nil when the event does not say.
	HasPending *bool
	// Why is one line for the debug log: why the event is relevant or not.
	Why string
}

// Scope limits which private link services plsgate manages (SCOPE_SUBSCRIPTIONS
// and SCOPE_PLS_IDS, a union). Both empty = everything. WebPubSubIDs
// (WEBPUBSUB_IDS) are the Web PubSub resources whose shared private link
// resources plsgate follows, in whatever subscription they live.
type Scope struct {
	Subscriptions []string
	PLSIDs        []string
	WebPubSubIDs  []string
}

// Classifier maps events to hints. It is immutable and safe for concurrent use.
type Classifier struct {
	all     bool
	subs    map[string]bool // lower-case subscription IDs of SCOPE_SUBSCRIPTIONS
	plsIDs  map[string]bool // normalized SCOPE_PLS_IDS
	watched map[string]bool // subs ∪ the subscriptions of plsIDs
	wps     map[string]bool // normalized WEBPUBSUB_IDS
	// The registered kinds, read once: Classify runs per event and the
	// registry is fixed after init.
	kinds    []resource.Kind
	subjects []string // "/providers/<type>/" of each kind, lower case
}

// kindOfOperation is the registered kind whose operations op belongs to.
func (c *Classifier) kindOfOperation(op string) (resource.Kind, bool) {
	for _, k := range c.kinds {
		if hasPrefixFold(op, k.OperationPrefix) {
			return k, true
		}
	}
	return resource.Kind{}, false
}

// namesKind reports whether an event subject names a resource of a registered kind.
func (c *Classifier) namesKind(subject string) bool {
	for _, f := range c.subjects {
		if containsLower(subject, f) {
			return true
		}
	}
	return false
}

// NewClassifier returns a Classifier for s.
func NewClassifier(s Scope) *Classifier {
	c := &Classifier{subs: map[string]bool{}, plsIDs: map[string]bool{}, watched: map[string]bool{}, wps: map[string]bool{}, kinds: resource.Kinds()}
	for _, k := range c.kinds {
		c.subjects = append(c.subjects, "/providers/"+strings.ToLower(k.Type)+"/")
	}
	for _, id := range s.WebPubSubIDs {
		if n := resource.Normalize(id); n != "" {
			c.wps[n] = true
		}
	}
	for _, sub := range s.Subscriptions {
		if sub = strings.ToLower(strings.TrimSpace(sub)); sub != "" {
			c.subs[sub] = true
			c.watched[sub] = true
		}
	}
	for _, id := range s.PLSIDs {
		if n := resource.Normalize(id); n != "" {
			c.plsIDs[n] = true
			if sub := resource.SubscriptionOf(n); sub != "" {
				c.watched[sub] = true
			}
		}
	}
	c.all = len(c.subs) == 0 && len(c.plsIDs) == 0
	return c
}

// InScope reports whether plsgate manages the private link service plsID.
func (c *Classifier) InScope(plsID string) bool {
	if c.all {
		return true
	}
	n := resource.Normalize(plsID)
	return c.plsIDs[n] || c.subs[resource.SubscriptionOf(n)]
}

// Watches reports whether a subscription holds private link services in scope:
// a private endpoint written there may target one of them.
func (c *Classifier) Watches(subscriptionID string) bool {
	return c.all || c.watched[strings.ToLower(subscriptionID)]
}

// Classify says whether an event matters and for which private link services.
// It does no I/O. An irrelevant event is recognised from its type and subject
// without parsing its data. The error (wrapping ErrMalformed) reports data
// that cannot be understood; the Hint is then Irrelevant and still names the
// event for the log.
func (c *Classifier) Classify(e Event) (Hint, error) {
	h := Hint{EventID: e.ID, EventType: e.Type, Subject: e.Subject, Schema: e.Schema}
	switch {
	case oneOfFold(e.Type, ResourceEventTypes):
		return c.classifyResourceEvent(e, h)
	case oneOfFold(e.Type, NotificationEventTypes):
		return c.classifyNotification(e, h)
	}
	h.Why = "event type " + e.Type + " is not one plsgate acts on"
	return h, nil
}

func (c *Classifier) classifyResourceEvent(e Event, h Hint) (Hint, error) {
	if e.Subject != "" && !c.namesKind(e.Subject) && !containsLower(e.Subject, subjectPE) &&
		(len(c.wps) == 0 || !containsLower(e.Subject, subjectSPL)) {
		h.Why = "subject names neither a private link service, a private endpoint nor a shared private link resource"
		return h, nil
	}
	d, err := decodeResourceData(e)
	if err != nil {
		return h, c.malformed(e, err)
	}
	uri := d.ResourceURI
	if uri == "" {
		uri = e.Subject
	}
	op := d.OperationName

	if hasPrefixFold(op, OperationSharedPrivateLinkPrefix) {
		return c.classifySharedLink(e, h, op, uri)
	}

	if strings.EqualFold(op, OperationPrivateEndpointWrite) {
		if !strings.EqualFold(e.Type, azsystemevents.TypeResourceWriteSuccess) {
			h.Why = fmt.Sprintf("%s reported by %s, not a write success", op, e.Type)
			return h, nil
		}
		pe, err := resource.Parse(uri)
		if err == nil && !strings.EqualFold(pe.Type(), typePrivateEndpoint) {
			err = fmt.Errorf("%q is not a private endpoint ID", uri)
		}
		if err != nil {
			return h, c.malformed(e, fmt.Errorf("%s: resourceUri: %w", op, err))
		}
		sub := pe.Subscription
		if !c.Watches(sub) {
			h.Why = fmt.Sprintf("private endpoint written in subscription %s, which holds no private link service in scope", sub)
			return h, nil
		}
		if err := checkIDLength("resourceUri", uri); err != nil {
			return h, c.malformed(e, err)
		}
		h.Kind = PrivateEndpointWritten
		h.PrivateEndpointID = strings.TrimRight(uri, "/")
		h.Why = fmt.Sprintf("private endpoint %s written in watched subscription %s: read it to find its target private link services", h.PrivateEndpointID, sub)
		return h, nil
	}

	opKind, kindOp := c.kindOfOperation(op)
	rid, _, ok := resource.ResourceOf(uri)
	if !ok {
		if kindOp {
			return h, c.malformed(e, fmt.Errorf("operation %s concerns %s but resourceUri %q names none", op, opKind.Type, uri))
		}
		h.Why = fmt.Sprintf("operation %s on %s concerns no resource of a kind plsgate manages", op, uri)
		return h, nil
	}
	if !c.InScope(rid) {
		h.Why = fmt.Sprintf("%s is out of scope", rid)
		return h, nil
	}
	if err := checkIDLength("resourceUri", rid); err != nil {
		return h, c.malformed(e, err)
	}
	h.Kind = ResourceChanged
	h.ResourceIDs = []string{resource.Normalize(rid)}
	h.Why = fmt.Sprintf("%s %s on %s", trimPrefix(e.Type), op, uri)
	return h, nil
}

// classifySharedLink: the Web PubSub owner wrote or deleted a shared private
// link resource. Relevant when its parent is a configured Web PubSub resource,
// whatever subscription it lives in; the target is not in the event (a read
// tells it), so scope is checked by the caller after that read.
func (c *Classifier) classifySharedLink(e Event, h Hint, op, uri string) (Hint, error) {
	var kind Kind
	switch {
	case strings.EqualFold(op, OperationSharedPrivateLinkWrite) && strings.EqualFold(e.Type, azsystemevents.TypeResourceWriteSuccess):
		kind = SharedPrivateLinkWritten
	case strings.EqualFold(op, OperationSharedPrivateLinkDelete) && strings.EqualFold(e.Type, azsystemevents.TypeResourceDeleteSuccess):
		kind = SharedPrivateLinkDeleted
	default:
		h.Why = fmt.Sprintf("%s reported by %s is not a shared private link resource write or delete success", op, e.Type)
		return h, nil
	}
	sid, err := resource.Parse(uri)
	if err == nil && !strings.EqualFold(sid.Type(), typeSharedPrivateLink) {
		err = fmt.Errorf("%q is not a Web PubSub shared private link resource ID", uri)
	}
	if err != nil {
		return h, c.malformed(e, fmt.Errorf("%s: resourceUri: %w", op, err))
	}
	wps, _ := sid.Parent()
	parent := wps.String()
	if !c.wps[resource.Normalize(parent)] {
		h.Why = fmt.Sprintf("shared private link resource of %s, which is not in WEBPUBSUB_IDS", parent)
		return h, nil
	}
	if err := checkIDLength("resourceUri", uri); err != nil {
		return h, c.malformed(e, err)
	}
	h.Kind = kind
	h.SharedPrivateLinkID = strings.TrimRight(uri, "/")
	h.Why = fmt.Sprintf("%s %s of a configured Web PubSub resource", trimPrefix(e.Type), h.SharedPrivateLinkID)
	return h, nil
}

func (c *Classifier) classifyNotification(e Event, h Hint) (Hint, error) {
	if e.Subject != "" && !c.namesKind(e.Subject) {
		h.Why = "subject is not a private link service"
		return h, nil
	}
	n, err := decodeNotification(e)
	if err != nil {
		return h, c.malformed(e, err)
	}
	if !slices.ContainsFunc(c.kinds, func(k resource.Kind) bool { return strings.EqualFold(k.Type, n.Type) }) {
		h.Why = "resource type " + n.Type + " is not a kind plsgate manages"
		return h, nil
	}
	id := n.ID
	if id == "" {
		id = e.Subject
	}
	if k, ok := resource.KindOf(id); !ok || !strings.EqualFold(k.Type, n.Type) {
		return h, c.malformed(e, fmt.Errorf("resourceInfo.id %q is not a %s ID", id, n.Type))
	}
	if !c.InScope(id) {
		h.Why = fmt.Sprintf("%s is out of scope", id)
		return h, nil
	}
	if err := checkIDLength("resourceInfo.id", id); err != nil {
		return h, c.malformed(e, err)
	}
	h.Kind = ResourceNotification
	h.ResourceIDs = []string{resource.Normalize(id)}
	if n.Deleted {
		h.Why = id + " deleted"
		return h, nil
	}
	h.HasPending = n.HasPending
	switch {
	case n.HasPending == nil:
		h.Why = id + " created or updated; its body does not list its connections"
	case *n.HasPending:
		h.Why = id + " has a Pending connection"
	default:
		h.Why = id + " has no Pending connection"
	}
	return h, nil
}

// checkIDLength refuses a resource ID that plsgate could not store: its tables are keyed by the
// lower-cased, escaped resource ID, and a Table key holds at most 1 KiB
// (tablekey.ResourceKey; Azure Storage "Understanding the Table service data model"). No Azure
// resource ID is that long, and a retry cannot shorten it, so the event is malformed: the
// caller logs and acknowledges it instead of failing the invocation into 24 h of Event Grid
// redeliveries. A private endpoint ID is held to the same bound before plsgate reads it.
func checkIDLength(field, id string) error {
	if _, err := tablekey.ResourceKey(id); errors.Is(err, tablekey.ErrTooLarge) {
		return fmt.Errorf("%s is %d bytes, longer than a Table storage key allows (1 KiB after escaping): no Azure resource ID is that long", field, len(id))
	}
	return nil
}

func (c *Classifier) malformed(e Event, err error) error {
	return fmt.Errorf("%w: %s event %q (%s): %v", ErrMalformed, e.schemaName(), e.ID, e.Type, err)
}

func trimPrefix(t string) string {
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// resourceData is what plsgate reads from a Microsoft.Resources.* event.
type resourceData struct {
	OperationName, ResourceURI, SubscriptionID, Status string
}

// eventData returns the data JSON, unwrapping data sent as a JSON string.
func eventData(e Event) ([]byte, error) {
	d := e.Data
	if len(d) == 0 {
		return nil, fmt.Errorf("no data")
	}
	if d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return []byte(s), nil
	}
	return d, nil
}

// decodeResourceData decodes the data of a Resource{Write,Action,Delete}Success
// event with its azsystemevents type. Those types declare claims and
// authorization.evidence as string maps; real events have carried other shapes
// there (e.g. "evidence": [] in older events), which plsgate does not read, so
// a failure of the typed decode falls back to the four fields plsgate needs.
func decodeResourceData(e Event) (resourceData, error) {
	data, err := eventData(e)
	if err != nil {
		return resourceData{}, err
	}
	var d resourceData
	var typedErr error
	switch {
	case strings.EqualFold(e.Type, azsystemevents.TypeResourceWriteSuccess):
		var v azsystemevents.ResourceWriteSuccessEventData
		if typedErr = json.Unmarshal(data, &v); typedErr == nil {
			d = resourceData{deref(v.OperationName), deref(v.ResourceURI), deref(v.SubscriptionID), deref(v.Status)}
		}
	case strings.EqualFold(e.Type, azsystemevents.TypeResourceActionSuccess):
		var v azsystemevents.ResourceActionSuccessEventData
		if typedErr = json.Unmarshal(data, &v); typedErr == nil {
			d = resourceData{deref(v.OperationName), deref(v.ResourceURI), deref(v.SubscriptionID), deref(v.Status)}
		}
	default:
		var v azsystemevents.ResourceDeleteSuccessEventData
		if typedErr = json.Unmarshal(data, &v); typedErr == nil {
			d = resourceData{deref(v.OperationName), deref(v.ResourceURI), deref(v.SubscriptionID), deref(v.Status)}
		}
	}
	if typedErr != nil {
		var v struct {
			OperationName  *string `json:"operationName"`
			ResourceURI    *string `json:"resourceUri"`
			SubscriptionID *string `json:"subscriptionId"`
			Status         *string `json:"status"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return resourceData{}, fmt.Errorf("data: %w", err)
		}
		d = resourceData{deref(v.OperationName), deref(v.ResourceURI), deref(v.SubscriptionID), deref(v.Status)}
	}
	if d.OperationName == "" && d.ResourceURI == "" {
		return resourceData{}, fmt.Errorf("data has neither operationName nor resourceUri")
	}
	return d, nil
}

// notification is what plsgate reads from a Resource Notifications event.
type notification struct {
	ID, Type   string
	Deleted    bool
	HasPending *bool
}

// decodeNotification decodes a Resource Notifications event with its
// azsystemevents type (data.resourceInfo → ResourceDetails). The docs' schema
// shows "tags" as a string where the SDK expects an object, and their sample
// encodes booleans as 0/1; plsgate reads neither, so a failed typed decode
// falls back to id, type and properties.
func decodeNotification(e Event) (notification, error) {
	data, err := eventData(e)
	if err != nil {
		return notification{}, err
	}
	var n notification
	var props map[string]any
	if strings.EqualFold(e.Type, azsystemevents.TypeResourceNotificationsResourceManagementDeleted) {
		n.Deleted = true
		var v azsystemevents.ResourceNotificationsResourceManagementDeletedEventData
		if err := json.Unmarshal(data, &v); err == nil && v.ResourceDetails != nil {
			n.ID, n.Type = deref(v.ResourceDetails.ID), deref(v.ResourceDetails.Type)
		} else if n.ID, n.Type, _, err = fallbackResourceInfo(data); err != nil {
			return notification{}, err
		}
		return n, nil
	}
	var v azsystemevents.ResourceNotificationsResourceManagementCreatedOrUpdatedEventData
	if err := json.Unmarshal(data, &v); err == nil && v.ResourceDetails != nil {
		n.ID, n.Type, props = deref(v.ResourceDetails.ID), deref(v.ResourceDetails.Type), v.ResourceDetails.Properties
	} else if n.ID, n.Type, props, err = fallbackResourceInfo(data); err != nil {
		return notification{}, err
	}
	n.HasPending = hasPending(props)
	return n, nil
}

func fallbackResourceInfo(data []byte) (id, typ string, props map[string]any, err error) {
	var v struct {
		ResourceInfo *struct {
			ID         *string        `json:"id"`
			Type       *string        `json:"type"`
			Properties map[string]any `json:"properties"`
		} `json:"resourceInfo"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return "", "", nil, fmt.Errorf("data: %w", err)
	}
	if v.ResourceInfo == nil {
		return "", "", nil, fmt.Errorf("data has no resourceInfo")
	}
	return deref(v.ResourceInfo.ID), deref(v.ResourceInfo.Type), v.ResourceInfo.Properties, nil
}

// hasPending reads properties.privateEndpointConnections[].properties.
// privateLinkServiceConnectionState.status (the ARM body of the service).
// nil when the body does not list the connections (or not as an array).
func hasPending(props map[string]any) *bool {
	conns, ok := props["privateEndpointConnections"].([]any)
	if !ok {
		return nil
	}
	pending := false
	for _, c := range conns {
		cm, _ := c.(map[string]any)
		pm, _ := cm["properties"].(map[string]any)
		sm, _ := pm["privateLinkServiceConnectionState"].(map[string]any)
		if s, _ := sm["status"].(string); resource.StatusIs(s, resource.StatusPending) {
			pending = true
			break
		}
	}
	return &pending
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
