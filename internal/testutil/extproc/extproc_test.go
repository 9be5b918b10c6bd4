package extproc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// SkipShort skips exactly under -short, with the shared message. The test re-runs this test
// binary (itself an external process) once with -test.short and once without.
func TestSkipShort(t *testing.T) {
	if os.Getenv("PLSGATE_EXTPROC_CHILD") == "1" {
		SkipShort(t, "a child")
		t.Log("ran")
		return
	}
	SkipShort(t, "this test binary")
	for _, tc := range []struct {
		flag, want string
	}{
		{"-test.short", "--- SKIP: TestSkipShort"},
		{"-test.short=false", "ran"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipShort$", "-test.v", tc.flag)
		cmd.Env = append(os.Environ(), "PLSGATE_EXTPROC_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%s: %v, want %q in:\n%s", tc.flag, err, tc.want, out)
		}
		if tc.flag == "-test.short" && !strings.Contains(string(out), Message+" (a child)") {
			t.Fatalf("skip message: want %q in:\n%s", Message+" (a child)", out)
		}
	}
}
