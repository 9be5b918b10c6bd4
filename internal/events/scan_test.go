package events

import (
	"math/rand/v2"
	"testing"
)

// refSkipString is the obvious byte walk the fast skippers must agree with.
func refSkipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, true
		case '\\':
			j++
		}
	}
	return len(b), false
}

// TestSkipStringsAgree feeds both skippers strings dense in quotes and
// backslashes at every alignment (the SWAR path reads 8 bytes at a time).
func TestSkipStringsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', '\\', '"', 'x', 0xe9}
	for n := 0; n < 50000; n++ {
		b := make([]byte, 1+rng.IntN(40))
		b[0] = '"'
		for k := 1; k < len(b); k++ {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		want, ok := refSkipString(b, 0)
		got, err := skipPlainString(b, 0)
		if (err == nil) != ok || (ok && got != want) {
			t.Fatalf("skipPlainString(%q) = %d, %v; want %d, %v", b, got, err, want, ok)
		}
		got2, _, err2 := skipString(b, 0)
		if (err2 == nil) != ok || (ok && got2 != want) {
			t.Fatalf("skipString(%q) = %d, %v; want %d, %v", b, got2, err2, want, ok)
		}
	}
}
