package arm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func TestStaticToken(t *testing.T) {
	tok, err := StaticToken("secret-token").GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"x/.default"}})
	if err != nil || tok.Token != "secret-token" || tok.ExpiresOn.IsZero() {
		t.Errorf("GetToken = %+v, %v", tok, err)
	}
	for _, s := range []string{fmt.Sprint(StaticToken("secret-token")), fmt.Sprintf("%#v", StaticToken("secret-token")), fmt.Sprintf("%+v", struct{ T StaticToken }{"secret-token"})} {
		if strings.Contains(s, "secret") {
			t.Errorf("token leaks in %q", s)
		}
	}
	if _, err := StaticToken("").GetToken(context.Background(), policy.TokenRequestOptions{}); err == nil {
		t.Error("empty token accepted")
	}
}

func TestNewCredentialPicksManagedIdentityInAzure(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"app service", map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "h"}, "*azidentity.ManagedIdentityCredential"},
		{"older host", map[string]string{"MSI_ENDPOINT": "http://127.0.0.1:41741/msi/token", "MSI_SECRET": "s"}, "*azidentity.ManagedIdentityCredential"},
		{"local", nil, "*azidentity.DefaultAzureCredential"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET"} {
				t.Setenv(k, tc.env[k])
			}
			for _, id := range []string{"", "00000000-0000-0000-0000-0000000000aa"} {
				cred, err := NewCredential(id)
				if err != nil {
					t.Fatalf("clientID %q: %v", id, err)
				}
				if got := fmt.Sprintf("%T", cred); got != tc.want {
					t.Errorf("clientID %q: %s, want %s", id, got, tc.want)
				}
			}
		})
	}
}
