package arm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// NewCredential returns the credential plsgate authenticates to ARM with.
//
// In Azure (App Service / Functions set IDENTITY_ENDPOINT, older hosts
// MSI_ENDPOINT) it is the managed identity: the user-assigned one whose client
// ID is clientID (AZURE_CLIENT_ID), or the system-assigned one when clientID is
// "". A specific credential in Azure avoids DefaultAzureCredential's chain
// probing environment variables and developer tools first.
//
// Elsewhere it is DefaultAzureCredential (environment, workload identity,
// Azure CLI, ...), which also honours AZURE_CLIENT_ID and AZURE_AUTHORITY_HOST.
func NewCredential(clientID string) (azcore.TokenCredential, error) {
	if inAzure() {
		o := &azidentity.ManagedIdentityCredentialOptions{}
		if clientID != "" {
			o.ID = azidentity.ClientID(clientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(o)
		if err != nil {
			return nil, fmt.Errorf("create managed identity credential: %w", err)
		}
		return cred, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("create default Azure credential: %w", err)
	}
	return cred, nil
}

func inAzure() bool {
	return os.Getenv("IDENTITY_ENDPOINT") != "" || os.Getenv("MSI_ENDPOINT") != ""
}

// StaticToken is a credential that always returns the same bearer token: for
// the local ARM emulator only (real ARM rejects it; plain HTTP, which the
// emulator uses, is allowed by New only towards a loopback address).
type StaticToken string

// GetToken implements azcore.TokenCredential.
func (t StaticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if t == "" {
		return azcore.AccessToken{}, errors.New("static token is empty")
	}
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(24 * time.Hour)}, nil
}

// String and GoString keep the token out of logs (%v, %s, %#v).
func (t StaticToken) String() string { return "StaticToken(redacted)" }

// GoString implements fmt.GoStringer.
func (t StaticToken) GoString() string { return t.String() }
