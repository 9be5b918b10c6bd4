package tablekey

import (
	"errors"
	"strings"
	"testing"
)

func TestResourceKeyLimit(t *testing.T) {
	id := "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateLinkServices/"
	k, err := ResourceKey(id + "P/")
	if err != nil || k != "%2Fsubscriptions%2Fs%2Fresourcegroups%2Frg%2Fproviders%2Fmicrosoft.network%2Fprivatelinkservices%2Fp" {
		t.Fatalf("%q %v", k, err)
	}
	// 300 '%' are 300 bytes as text but 900 once escaped: 1,800 UTF-16 bytes.
	if _, err := ResourceKey(id + strings.Repeat("%", 300)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	if s, err := Unescape(Escape("a/b\\c#d?e%f\x01")); err != nil || s != "a/b\\c#d?e%f\x01" {
		t.Fatalf("round trip %q %v", s, err)
	}
}
