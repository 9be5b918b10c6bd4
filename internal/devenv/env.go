package devenv

import (
	"slices"
	"strings"

	"github.com/plsgate/plsgate/internal/config"
)

// ServeEnv is the environment of a child `plsgate serve` started by the demo
// or a bench: environ without any plsgate setting the user may have exported
// (config.Settings), FUNCTIONS_CUSTOMHANDLER_PORT or the extra names, then
// settings in a stable order. The child sees only what its starter chose.
func ServeEnv(environ []string, settings map[string]string, drop ...string) []string {
	skip := map[string]bool{"FUNCTIONS_CUSTOMHANDLER_PORT": true}
	for _, st := range config.Settings {
		skip[strings.ToUpper(st.Name)] = true
	}
	for _, d := range drop {
		skip[strings.ToUpper(d)] = true
	}
	var env []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !skip[strings.ToUpper(k)] {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+settings[k])
	}
	return env
}
