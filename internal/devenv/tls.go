package devenv

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// SSLCertFile is the standard variable naming the file of trusted root
// certificates. Go's crypto/x509 reads it on Unix systems other than macOS:
// "On Unix systems other than macOS the environment variables SSL_CERT_FILE
// and SSL_CERT_DIR can be used to override the system default locations for
// the SSL certificate file and SSL certificate files directory"
// (pkg.go.dev/crypto/x509#SystemCertPool; src/crypto/x509/root_unix.go
// loadSystemRoots). macOS and Windows verify with the platform instead and
// ignore it (golang/go#37907).
const SSLCertFile = "SSL_CERT_FILE"

var errNoCertificates = errors.New("no PEM CERTIFICATE block")

// WriteCAFile writes certificates as PEM (the demo writes its topic's certificate this way).
func WriteCAFile(path string, certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return fmt.Errorf("write CA file %s: %w", path, errNoCertificates)
	}
	var b strings.Builder
	for _, c := range certs {
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return fmt.Errorf("encode certificate: %w", err)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write CA file: %w", err)
	}
	return nil
}
