package cli

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/testutil/extproc"
)

// BenchmarkServeReadiness measures what the Functions host waits for: from
// starting `plsgate serve` to the first answer on GET / (the host counts the
// handler ready then). Table storage is not reachable on purpose: it is opened
// in the background, so it must not delay readiness.
func BenchmarkServeReadiness(b *testing.B) {
	bin, root := buildPlsgate(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	env := append(os.Environ(),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+port,
		"PLSGATE_TABLES_CONNECTION=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
		"PLSGATE_POLICY="+filepath.Join(root, "examples", "policies", "webpubsub.yaml"),
		"ARM_ENDPOINT=http://127.0.0.1:2",
	)
	client := &http.Client{Timeout: time.Second}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := client.Get("http://127.0.0.1:" + port + "/")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("not ready after 10 s: %v", err)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// buildPlsgate builds this module's binary, as `make demo` (go run) does.
func buildPlsgate(t testing.TB) (bin, root string) {
	t.Helper()
	extproc.SkipShort(t, "go build and the plsgate binary")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "plsgate")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin, root
}
