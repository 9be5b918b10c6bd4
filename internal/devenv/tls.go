package devenv

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// NotifyTopicCAFile is the environment variable naming the CA file for a loopback notify topic.
const NotifyTopicCAFile = "NOTIFY_TOPIC_CA_FILE"

// LoopbackTLSClient returns an HTTP client for endpoint that trusts exactly the CA certificates
// in the PEM file caFile. endpoint must be an https URL whose host is a loopback IP or
// "localhost": anything else is an error, so the setting cannot weaken trust in a real topic.
func LoopbackTLSClient(endpoint, caFile string) (*http.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s is only for an https loopback endpoint; got %q", NotifyTopicCAFile, endpoint)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%s is only for a loopback endpoint; %q is not on loopback", NotifyTopicCAFile, u.Hostname())
	}
	pool, err := LoadCAFile(caFile)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil, // loopback: never through a proxy
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		// A redirect could lead off loopback: refuse to follow any.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// LoadCAFile reads PEM certificates into a new pool (not the system roots).
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", NotifyTopicCAFile, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s %s: certificate %d: %w", NotifyTopicCAFile, path, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s %s: %w", NotifyTopicCAFile, path, errNoCertificates)
	}
	return pool, nil
}

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

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
