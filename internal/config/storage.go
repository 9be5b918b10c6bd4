package config

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
)

// accountNameRE: storage account names are 3–24 lower-case letters and digits in Azure; local
// emulators accept other spellings, so only what would break the service URL is refused.
var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9]{1,63}$`)

var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// checkStorageConnectionString says what is wrong with a Table storage connection string, ""
// when aztables (the client plsgate uses) can build a client from it. The answer names keys,
// never values: the string holds an account key or a shared access signature.
//
// It follows aztables v1.4.1 connection_string.go: Name=value pairs separated by ';' (names are
// case-sensitive), AccountName plus AccountKey (base64) or SharedAccessSignature; TableEndpoint,
// DefaultEndpointsProtocol and EndpointSuffix build the URL for an account key. With a shared
// access signature aztables ignores those three and always calls
// https://{AccountName}.table.core.windows.net, so a string that names another endpoint would
// send the signature somewhere else than its author meant: refused. The formats are those of
// azure-docs articles/storage/common/storage-configure-connection-string.md.
func checkStorageConnectionString(cs string) string {
	if cs == "UseDevelopmentStorage=true" {
		return "" // the store expands it to Azurite's default account
	}
	const shape = "is not a storage connection string: want Name=value pairs separated by ';' " +
		"(AccountName=…;AccountKey=…, or AccountName=…;SharedAccessSignature=…), or UseDevelopmentStorage=true"
	kv := map[string]string{}
	for _, part := range strings.Split(strings.TrimRight(cs, ";"), ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return shape
		}
		kv[k] = v
	}
	name, ok := kv["AccountName"]
	if !ok {
		return "has no AccountName (names in a connection string are case-sensitive)"
	}
	if !accountNameRE.MatchString(name) {
		return "AccountName must be letters and digits"
	}
	if p, ok := kv["DefaultEndpointsProtocol"]; ok && p != "https" && p != "http" {
		return "DefaultEndpointsProtocol must be https or http"
	}
	if s, ok := kv["EndpointSuffix"]; ok && !hostRE.MatchString(s) {
		return "EndpointSuffix must be a DNS suffix such as core.windows.net"
	}
	endpoint, hasEndpoint := kv["TableEndpoint"]
	if hasEndpoint {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.User != nil {
			return "TableEndpoint must be an absolute http(s) URL without a query, such as https://ACCOUNT.table.core.windows.net"
		}
	}
	key, hasKey := kv["AccountKey"]
	sas, hasSAS := kv["SharedAccessSignature"]
	switch {
	case hasKey:
		if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) == 0 {
			return "AccountKey is not a base64 account key"
		}
	case hasSAS:
		q, err := url.ParseQuery(sas)
		if err != nil || q.Get("sig") == "" || strings.ContainsAny(sas, " \t\r\n") {
			return "SharedAccessSignature is not a SAS token (sv=…&…&sig=…)"
		}
		public := "https://" + strings.ToLower(name) + ".table.core.windows.net"
		if (hasEndpoint && !strings.EqualFold(strings.TrimRight(endpoint, "/"), public)) ||
			(kv["EndpointSuffix"] != "" && kv["EndpointSuffix"] != "core.windows.net") ||
			kv["DefaultEndpointsProtocol"] == "http" {
			return "with a SharedAccessSignature the Table client ignores TableEndpoint, EndpointSuffix and " +
				"DefaultEndpointsProtocol and sends the signature to https://ACCOUNT.table.core.windows.net; " +
				"use an AccountKey connection string, or PLSGATE_TABLES_ENDPOINT with the managed identity"
		}
	default:
		return "needs AccountKey or SharedAccessSignature"
	}
	return ""
}
