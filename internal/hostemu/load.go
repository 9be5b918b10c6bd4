package hostemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultHostVersion is sent in X-Azure-Functions-HostVersion and User-Agent.
const DefaultHostVersion = "4.1040.300.1"

// Options configure the emulated host. Zero values pick the defaults.
type Options struct {
	// FunctionKey, when set, is required by authLevel function (and admin) HTTP functions as
	// the code query parameter or the x-functions-key header; otherwise 401.
	FunctionKey string
	// EventGridKey, when set, is required as code= on /runtime/webhooks/eventgrid.
	EventGridKey string
	// MasterKey, when set, is required as x-functions-key on /admin/functions/{name}.
	MasterKey string
	// Settings resolve %NAME% in bindings; the process environment is the fallback.
	Settings map[string]string
	// HostVersion; default DefaultHostVersion.
	HostVersion string
	// Client reaches the handler; default a plain client (deadlines come from functionTimeout).
	Client *http.Client
	// Logger receives host-side lines (handler Logs on success, failures); default discards.
	Logger *slog.Logger
	// Now is the clock for sys.UtcNow and timer status; default time.Now.
	Now func() time.Time
	// NewGUID makes invocation ids and sys.RandGuid; default random v4 GUIDs.
	NewGUID func() string
	// TimerPeriod is the assumed period of cron schedules (for ScheduleStatus.Next); default 2m.
	TimerPeriod time.Duration
	// MaxConcurrency bounds parallel invocations of one Event Grid delivery; default 64.
	MaxConcurrency int
	// OnInvocation, when set, is called after every invocation, possibly concurrently.
	OnInvocation func(Invocation)
}

// Host is an emulated Functions host in front of one custom handler.
type Host struct {
	opts            Options
	handlerURL      string
	routePrefix     string
	functionTimeout time.Duration
	functions       map[string]*function
	httpFuncs       []*function // sorted by name for deterministic routing

	mu     sync.Mutex
	timers map[string]*timerState
}

type function struct {
	name    string
	trigger binding
	outputs []binding
	route   []segment // httpTrigger only
	period  time.Duration
	// err is an indexing error that disables this function only (e.g. unresolved setting).
	err error
}

type binding struct {
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	Name         string   `json:"name"`
	DataType     string   `json:"dataType"`
	AuthLevel    string   `json:"authLevel"`
	Methods      []string `json:"methods"`
	Route        string   `json:"route"`
	Schedule     string   `json:"schedule"`
	RunOnStartup bool     `json:"runOnStartup"`
	UseMonitor   *bool    `json:"useMonitor"`
}

type functionJSON struct {
	Bindings []binding `json:"bindings"`
	Disabled bool      `json:"disabled"`
}

type hostJSON struct {
	Version         string `json:"version"`
	FunctionTimeout string `json:"functionTimeout"`
	CustomHandler   *struct {
		EnableProxyingHttpRequest   bool `json:"enableProxyingHttpRequest"`
		EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
}

// Load reads functionsDir/*/function.json and host.json (in functionsDir or its parent:
// the repo keeps functions/ beside host.json, a deployed app keeps both at its root).
// handlerURL is the custom handler's base URL, e.g. http://127.0.0.1:8080. Definition
// errors (bad JSON, unknown trigger, duplicate names, unsupported host.json) fail Load.
func Load(functionsDir, handlerURL string, o Options) (*Host, error) {
	u, err := url.Parse(handlerURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("load host: handler URL %q is not an absolute URL", handlerURL)
	}
	applyDefaults(&o)
	h := &Host{
		opts:            o,
		handlerURL:      strings.TrimSuffix(handlerURL, "/"),
		routePrefix:     "api",
		functionTimeout: 30 * time.Minute,
		functions:       make(map[string]*function),
		timers:          make(map[string]*timerState),
	}
	if err := h.loadHostJSON(functionsDir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(functionsDir)
	if err != nil {
		return nil, fmt.Errorf("load functions from %s: %w", functionsDir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(functionsDir, e.Name(), "function.json")
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load function %s: %w", e.Name(), err)
		}
		fn, err := h.parseFunction(e.Name(), data)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		if fn == nil { // disabled
			continue
		}
		h.functions[fn.name] = fn
		if fn.trigger.Type == "httpTrigger" {
			h.httpFuncs = append(h.httpFuncs, fn)
		}
	}
	if len(h.functions) == 0 {
		return nil, fmt.Errorf("load functions from %s: no function.json found", functionsDir)
	}
	sort.Slice(h.httpFuncs, func(i, j int) bool { return h.httpFuncs[i].name < h.httpFuncs[j].name })
	return h, nil
}

func applyDefaults(o *Options) {
	if o.HostVersion == "" {
		o.HostVersion = DefaultHostVersion
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewGUID == nil {
		o.NewGUID = newGUID
	}
	if o.TimerPeriod <= 0 {
		o.TimerPeriod = 2 * time.Minute
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 64
	}
}

func (h *Host) loadHostJSON(functionsDir string) error {
	var data []byte
	var path string
	for _, dir := range []string{functionsDir, filepath.Dir(filepath.Clean(functionsDir))} {
		path = filepath.Join(dir, "host.json")
		b, err := os.ReadFile(path)
		if err == nil {
			data = b
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("load host.json: %w", err)
		}
	}
	if data == nil {
		return nil // the host's defaults
	}
	var hj hostJSON
	if err := json.Unmarshal(data, &hj); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	if hj.Version != "2.0" {
		return fmt.Errorf("load %s: version %q, want \"2.0\"", path, hj.Version)
	}
	if hj.CustomHandler != nil && (hj.CustomHandler.EnableProxyingHttpRequest || hj.CustomHandler.EnableForwardingHttpRequest) {
		return fmt.Errorf("load %s: HTTP proxying is not emulated (plsgate uses the non-proxied payload)", path)
	}
	if p := hj.Extensions.HTTP.RoutePrefix; p != nil {
		h.routePrefix = strings.Trim(*p, "/")
	}
	if hj.FunctionTimeout != "" {
		d, err := parseTimeSpan(hj.FunctionTimeout)
		if err != nil {
			return fmt.Errorf("load %s: functionTimeout: %w", path, err)
		}
		h.functionTimeout = d
	}
	return nil
}

var bindingName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*|\$return)$`)

func (h *Host) parseFunction(name string, data []byte) (*function, error) {
	var fj functionJSON
	if err := json.Unmarshal(data, &fj); err != nil {
		return nil, err
	}
	if fj.Disabled {
		return nil, nil
	}
	fn := &function{name: name}
	seen := map[string]bool{}
	triggers := 0
	for _, b := range fj.Bindings {
		if !bindingName.MatchString(b.Name) {
			return nil, fmt.Errorf("binding name %q is not a valid identifier", b.Name)
		}
		if seen[strings.ToLower(b.Name)] {
			return nil, fmt.Errorf("binding name %q used twice", b.Name)
		}
		seen[strings.ToLower(b.Name)] = true
		switch {
		case strings.HasSuffix(strings.ToLower(b.Type), "trigger"):
			if !strings.EqualFold(b.Direction, "in") {
				return nil, fmt.Errorf("trigger %q must have direction in", b.Name)
			}
			triggers++
			fn.trigger = b
		case strings.EqualFold(b.Direction, "out"):
			fn.outputs = append(fn.outputs, b)
		default:
			return nil, fmt.Errorf("binding %q: input bindings other than the trigger are not emulated", b.Name)
		}
	}
	if triggers != 1 {
		return nil, fmt.Errorf("want exactly one trigger binding, found %d", triggers)
	}
	switch fn.trigger.Type {
	case "eventGridTrigger":
		if len(fn.outputs) > 0 {
			return nil, errors.New("output bindings on the Event Grid function are not emulated")
		}
	case "timerTrigger":
		if len(fn.outputs) > 0 {
			return nil, errors.New("output bindings on the timer function are not emulated")
		}
		fn.period, fn.err = h.resolveSchedule(fn.trigger.Schedule)
	case "httpTrigger":
		return fn, h.parseHTTPTrigger(fn)
	default:
		return nil, fmt.Errorf("trigger type %q is not emulated", fn.trigger.Type)
	}
	return fn, nil
}

func (h *Host) parseHTTPTrigger(fn *function) error {
	t := &fn.trigger
	switch strings.ToLower(t.AuthLevel) {
	case "":
		t.AuthLevel = "function"
	case "anonymous", "function", "admin":
		t.AuthLevel = strings.ToLower(t.AuthLevel)
	default:
		return fmt.Errorf("authLevel %q is not anonymous, function or admin", t.AuthLevel)
	}
	httpOuts := 0
	for _, o := range fn.outputs {
		if o.Type != "http" {
			return fmt.Errorf("output %q: only http outputs are emulated", o.Name)
		}
		httpOuts++
	}
	if httpOuts != 1 {
		return fmt.Errorf("an httpTrigger function needs exactly one http output, found %d", httpOuts)
	}
	route := t.Route
	if route == "" {
		route = fn.name
	}
	segs, err := parseRoute(route)
	if err != nil {
		return fmt.Errorf("route %q: %w", route, err)
	}
	fn.route = segs
	return nil
}

// resolveSchedule expands %SETTING% and returns the period a TimeSpan schedule implies
// (0 for cron). Errors disable the function, not the host.
func (h *Host) resolveSchedule(s string) (time.Duration, error) {
	if strings.HasPrefix(s, "%") && strings.HasSuffix(s, "%") && len(s) > 2 {
		name := s[1 : len(s)-1]
		v, ok := h.opts.Settings[name]
		if !ok {
			v, ok = os.LookupEnv(name)
		}
		if !ok || v == "" {
			return 0, fmt.Errorf("schedule %s does not resolve: app setting %s is not set", s, name)
		}
		s = v
	}
	if strings.Contains(s, "%") {
		return 0, fmt.Errorf("schedule %q: only a whole-value %%SETTING%% is emulated", s)
	}
	if fields := strings.Fields(s); len(fields) == 6 {
		return 0, nil // NCRONTAB with seconds
	}
	d, err := parseTimeSpan(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("schedule %q is neither a 6-field NCRONTAB expression nor a positive hh:mm:ss period", s)
	}
	return d, nil
}

// parseTimeSpan reads .NET TimeSpan text: [d.]hh:mm:ss[.fff].
func parseTimeSpan(s string) (time.Duration, error) {
	var days int
	rest := s
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("timespan %q: %w", s, err)
		}
		days, rest = d, s[i+1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("timespan %q: want [d.]hh:mm:ss", s)
	}
	hh, err1 := strconv.Atoi(parts[0])
	mm, err2 := strconv.Atoi(parts[1])
	ss, err3 := strconv.ParseFloat(parts[2], 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, fmt.Errorf("timespan %q: %w", s, err)
	}
	return time.Duration(days)*24*time.Hour + time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss*float64(time.Second)), nil
}

func (h *Host) function(name string, triggerType string) (*function, error) {
	fn, ok := h.functions[name]
	if !ok {
		return nil, fmt.Errorf("function %q is not defined in function.json files", name)
	}
	if fn.trigger.Type != triggerType {
		return nil, fmt.Errorf("function %q has a %s, not a %s", name, fn.trigger.Type, triggerType)
	}
	if fn.err != nil {
		return nil, fmt.Errorf("function %q is disabled by an indexing error: %w", name, fn.err)
	}
	return fn, nil
}
