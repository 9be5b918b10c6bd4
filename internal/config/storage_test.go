package config

import (
	"strings"
	"testing"
)

// A malformed storage connection string is a configuration error naming the setting it came
// from, and the message never repeats the value (it holds an account key or a SAS). Before:
// Load accepted anything; the store failed later at start-up (exit 1), quoting the service
// URL with the SAS appended when the account name made an invalid host.
func TestMalformedStorageConnectionString(t *testing.T) {
	const secret = "U0VDUkVUS0VZU0VDUkVUS0VZ" // base64, also used as a sig
	cases := map[string]string{
		"not pairs":           "this is " + secret,
		"empty pair":          "AccountName=acct;;AccountKey=" + secret,
		"no account name":     "AccountKey=" + secret,
		"lower-case name":     "accountname=acct;AccountKey=" + secret,
		"bad account name":    "AccountName=bad acct;SharedAccessSignature=sv=2024-11-04&sig=" + secret,
		"key not base64":      "AccountName=acct;AccountKey=" + secret + "!",
		"no credential":       "AccountName=acct;TableEndpoint=https://acct.table.core.windows.net",
		"SAS without sig":     "AccountName=acct;SharedAccessSignature=sv=2024-11-04&se=" + secret,
		"SAS elsewhere":       "AccountName=acct;TableEndpoint=https://acct.table.core.usgovcloudapi.net;SharedAccessSignature=sv=2024-11-04&sig=" + secret,
		"SAS with suffix":     "AccountName=acct;EndpointSuffix=core.chinacloudapi.cn;SharedAccessSignature=sv=2024-11-04&sig=" + secret,
		"bad protocol":        "DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey=" + secret,
		"endpoint with query": "AccountName=acct;AccountKey=" + secret + ";TableEndpoint=https://h/?x=" + secret,
		"endpoint not a URL":  "AccountName=acct;AccountKey=" + secret + ";TableEndpoint=" + secret,
	}
	for name, cs := range cases {
		for _, setting := range []string{"PLSGATE_TABLES_CONNECTION", "AzureWebJobsStorage"} {
			t.Run(name+"/"+setting, func(t *testing.T) {
				_, err := Load(env(map[string]string{setting: cs}))
				if err == nil || !strings.Contains(err.Error(), "setting "+setting+":") {
					t.Fatalf("want an error naming %s, got %v", setting, err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the value is echoed: %v", err)
				}
			})
		}
	}
}

// What aztables accepts passes: Azurite's full string, an account key with the default or an
// explicit endpoint, a SAS for the public endpoint, and the development shorthand.
func TestWellFormedStorageConnectionStrings(t *testing.T) {
	for _, cs := range []string{
		"UseDevelopmentStorage=true",
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
		"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
		"AccountName=acct;SharedAccessSignature=sv=2024-11-04&ss=t&srt=sco&sp=rwdlacu&se=2030-01-01T00%3A00%3A00Z&sig=c2ln%3D",
		"AccountName=acct;TableEndpoint=https://acct.table.core.windows.net/;SharedAccessSignature=sv=2024-11-04&sig=c2ln",
	} {
		if _, err := Load(env(map[string]string{"PLSGATE_TABLES_CONNECTION": cs})); err != nil {
			t.Errorf("%.40s…: %v", cs, err)
		}
	}
}
