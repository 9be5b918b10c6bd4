//go:build !unix

package armemu

import "time"

// cpuTime is not measured here (the req/cpu-s metric is skipped).
func cpuTime() time.Duration { return 0 }
