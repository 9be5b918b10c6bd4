package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// devOnly are the packages of cmd/plsgate-dev and the tests: emulators, the
// demo, local stand-ins for Azure and test harnesses. The shipped binary (this
// package, what `make package` builds) must link none of them.
var devOnly = []string{
	"internal/armemu",
	"internal/hostemu",
	"internal/topicemu",
	"internal/demo",
	"internal/devenv", // and devenv/azurite, devenv/tokenissuer
	"internal/testenv",
	"internal/testutil",
	"internal/arm/armfake",
	"internal/store/memstore",
	"internal/tools",
	"cmd/",
	"net/http/httptest",
	"testing",
}

// TestShippedBinaryLinksNoDevTools lists the packages `go build .` links and
// fails on any dev-only one. cmd/plsgate-dev is listed too, as the check's
// own proof: it must contain the emulators the product leaves out.
func TestShippedBinaryLinksNoDevTools(t *testing.T) {
	extproc.SkipShort(t, "go list")
	product := goListDeps(t, ".")
	var bad []string
	for _, p := range product {
		if isDevOnly(p) {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("the shipped binary links %d dev-only packages (move their users to cmd/plsgate-dev):\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	t.Logf("the shipped binary links %d packages", len(product))

	dev := goListDeps(t, "./cmd/plsgate-dev")
	for _, want := range []string{"internal/armemu", "internal/hostemu", "internal/topicemu", "internal/demo"} {
		found := false
		for _, p := range dev {
			found = found || isDevOnly(p) && strings.HasSuffix(p, want)
		}
		if !found {
			t.Errorf("cmd/plsgate-dev does not link %s: the check above would not notice it either", want)
		}
	}
}

const module = "github.com/plsgate/plsgate/"

func isDevOnly(pkg string) bool {
	for _, d := range devOnly {
		switch {
		case !strings.Contains(d, "/") || d == "net/http/httptest": // the standard library
			if pkg == d || strings.HasPrefix(pkg, d+"/") {
				return true
			}
		case strings.HasSuffix(d, "/"):
			if strings.HasPrefix(pkg, module+d) {
				return true
			}
		case pkg == module+d || strings.HasPrefix(pkg, module+d+"/"):
			return true
		}
	}
	return false
}

func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}
