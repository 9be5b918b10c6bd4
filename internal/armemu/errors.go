package armemu

import (
	"fmt"
	"net/http"
)

// Error is an ARM error answer: HTTP status + the {"error":{"code","message"}}
// envelope. The Go helpers (SetConnectionStatus, …) return it too, so tests can
// check the code a real client would see.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error codes the emulator answers, with where each comes from.
const (
	// ARM front door.
	CodeAuthenticationFailed      = "AuthenticationFailed"             // 401, no/invalid Authorization header
	CodeInvalidTokenTenant        = "InvalidAuthenticationTokenTenant" // 401, token tenant ≠ subscription tenant
	CodeMissingAPIVersion         = "MissingApiVersionParameter"       // 400, no api-version query parameter
	CodeInvalidAPIVersion         = "InvalidApiVersionParameter"       // 400, api-version not a date[-preview]
	CodeNoRegisteredProvider      = "NoRegisteredProviderFound"        // 400, api-version unknown for the resource type
	CodeResourceNotFound          = "ResourceNotFound"                 // 404
	CodeInvalidRequestContent     = "InvalidRequestContent"            // 400, body not the expected JSON
	CodeThrottled                 = "SubscriptionRequestsThrottled"    // 429 (fault injection)
	CodeInternalServerError       = "InternalServerError"              // 500 (fault injection)
	CodeServiceUnavailable        = "ServiceUnavailable"               // 503 (fault injection)
	CodeNotImplementedByEmulator  = "NotFound"                         // 404, a path the emulator does not serve
	CodeMethodNotAllowed          = "MethodNotAllowed"                 // 405
	CodeInvalidSkipToken          = "InvalidSkipToken"                 // 400, $skiptoken not issued by us
	CodeOperationNotFound         = "OperationNotFound"                // 404, unknown async operation id
	CodeBadRequest                = "BadRequest"                       // 400, generic RP validation failure
	CodeLinkedInvalidPropertyID   = "LinkedInvalidPropertyId"          // 400, a property holding a malformed resource ID
	CodeInvalidConnectionStatus   = "InvalidPrivateLinkServiceConnectionStatus"
	CodeConnectionNotCreatable    = "PrivateEndpointConnectionCannotBeCreatedByServiceProvider" // azure-sdk-for-go #9484
	CodePrivateLinkServiceMissing = "ThirdPartyPrivateLinkServiceProvidedDuringPrivateEndpointCreationDoesNotExistOrIsNotVisible"
)

// CodeRejectedIsTerminal is what approving (or re-pending) a Rejected
// connection answers: 400 BadRequest. Azure documents that a rejected
// connection cannot be approved (azure-docs manage-private-endpoint.md, issue
// MicrosoftDocs/azure-docs#115121); the only published wire text is the
// service's "(BadRequest) Approving rejected private endpoint connections is
// not supported." (azure-docs PR #86823), so the emulator answers that code and
// message. Clients must treat any 400 here as terminal, not match the text.
const CodeRejectedIsTerminal = CodeBadRequest

func notFoundPLS(rg, name string) *Error {
	return errf(http.StatusNotFound, CodeResourceNotFound,
		"The Resource 'Microsoft.Network/privateLinkServices/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", name, rg)
}

func notFoundChild(id string) *Error {
	return errf(http.StatusNotFound, CodeResourceNotFound, "Resource %s not found.", id)
}
