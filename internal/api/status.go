package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/resource"
	"github.com/plsgate/plsgate/internal/store"
)

//go:embed templates/status.html templates/status.css
var templateFS embed.FS

// Status page bounds: it is a glance, not a report (the API pages through everything).
const (
	statusMaxConnections = 2000
	statusRecent         = 30
)

var (
	statusCSS = func() string {
		b, err := templateFS.ReadFile("templates/status.css")
		if err != nil {
			panic(err)
		}
		return string(b)
	}()
	// The page has no script at all; the inline style is allowed by its hash only.
	statusCSP = func() string {
		sum := sha256.Sum256([]byte(statusCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	}()
)

func newStatusTemplate(now func() time.Time) *template.Template {
	return template.Must(template.New("status.html").Funcs(template.FuncMap{
		"badge": badgeClass,
		"time":  formatTime,
		"ago": func(t any) string {
			var tt time.Time
			switch v := t.(type) {
			case time.Time:
				tt = v
			case *time.Time:
				if v == nil {
					return ""
				}
				tt = *v
			}
			return ago(now(), tt)
		},
	}).ParseFS(templateFS, "templates/status.html"))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// badgeClass maps a status or phase to its CSS class (a fixed set: never caller text).
func badgeClass(s string) string {
	switch k := strings.ToLower(s); k {
	case "pending", "approved", "rejected", "disconnected", "removed", "intent", "done", "failed",
		"observed", "drift", "dry-run", "running", "succeeded", "partial", "override":
		return "s-" + k
	}
	return "s-none"
}

// ago renders a time relative to now, coarse enough to read at a glance.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

type statusCount struct {
	Status string
	Count  int
}

// Views are flat (no embedded structs): templates look fields up by reflection per row.
// Badge classes and times are computed once per row here, not through template functions.
type connectionView struct {
	PLSID, PLSName, Name, Status, StatusClass, PendingAction, Drift, DriftText string
	RequesterSubscription, LastDecisionText, LastRule, LastActor               string
	Updated, UpdatedAgo                                                        string
	// Override: a person's approval against the policy (not drift).
	Override                                                     bool
	OverrideActor, OverrideReason, OverridePolicy, OverrideSince string
	OverrideAt                                                   string
}

type serviceView struct {
	ID, Name, ResourceGroup, Subscription string
	Connections                           []connectionView
}

type transitionView struct {
	PLSID, PLSName, Connection, SubjectText, Actor, Rule, Reason string
	From, FromClass, To, ToClass, Phase, PhaseClass              string
	At, AtAgo                                                    string
}

type statusData struct {
	CSS       template.CSS
	Now       time.Time
	Totals    []statusCount
	Services  []serviceView
	Drift     []connectionView
	Overrides []connectionView
	Recent    []transitionView
	Run       *runJSON
	Truncated bool
	Shown     int
}

// status is GET /status: a server-rendered page of the stored state.
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	if err := queryParams(r.URL.Query()); err != nil {
		a.writeError(w, r, err)
		return
	}
	data, err := a.statusData(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := a.tmpl.Execute(&buf, data); err != nil {
		a.writeError(w, r, fmt.Errorf("render status page: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", statusCSP)
	h.Set("Referrer-Policy", "no-referrer") // the URL carries the function key
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (a *API) statusData(r *http.Request) (*statusData, error) {
	ctx := r.Context()
	d := &statusData{CSS: template.CSS(statusCSS), Now: a.now()}

	var conns []store.Connection
	q := store.ConnectionQuery{Limit: maxLimit}
	for {
		items, next, err := a.o.Store.ListConnections(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("status page: list connections: %w", err)
		}
		conns = append(conns, items...)
		if next == "" {
			break
		}
		if len(conns) >= statusMaxConnections {
			d.Truncated = true
			break
		}
		q.Continuation = next
	}
	if len(conns) > statusMaxConnections {
		conns, d.Truncated = conns[:statusMaxConnections], true
	}
	d.Shown = len(conns)

	counts := map[string]int{}
	byPLS := map[string]*serviceView{}
	for _, c := range conns {
		counts[c.Status]++
		key := resource.Normalize(c.PLSID)
		sv := byPLS[key]
		if sv == nil {
			sv = &serviceView{ID: c.PLSID, Name: lastSegment(c.PLSID)}
			if id, err := resource.Parse(c.PLSID); err == nil { // a PLS, or a resource of another kind
				sv.Subscription, sv.ResourceGroup, sv.Name = id.Subscription, id.ResourceGroup, id.Name()
			}
			byPLS[key] = sv
		}
		cv := connectionView{
			PLSID: c.PLSID, PLSName: sv.Name, Name: c.Name, Status: c.Status, PendingAction: c.PendingAction, Drift: c.Drift,
			StatusClass:           badgeClass(c.Status),
			RequesterSubscription: c.RequesterSubscription, LastDecisionText: decisionText(c.LastDecision), LastRule: c.LastRule, LastActor: c.LastActor,
			Updated: formatTime(c.UpdatedAt), UpdatedAgo: ago(d.Now, c.UpdatedAt),
		}
		if reconcile.IsOverride(&c) {
			cv.Override, cv.LastDecisionText = true, "approve (override)"
			cv.OverrideActor, cv.OverrideReason, cv.OverridePolicy = c.OverrideActor, c.OverrideReason, c.OverridePolicy
			cv.OverrideAt, cv.OverrideSince = formatTime(c.OverrideAt), ago(d.Now, c.OverrideAt)
			d.Overrides = append(d.Overrides, cv)
		}
		if c.Drift != "" {
			cv.DriftText = reconcile.DescribeDrift(&c)
			d.Drift = append(d.Drift, cv)
		}
		sv.Connections = append(sv.Connections, cv)
	}
	for _, s := range []string{reconcile.StatusPending, reconcile.StatusApproved, reconcile.StatusRejected, reconcile.StatusDisconnected, reconcile.StatusRemoved} {
		d.Totals = append(d.Totals, statusCount{Status: s, Count: counts[s]})
		delete(counts, s)
	}
	for s, n := range counts { // statuses ARM may add later
		d.Totals = append(d.Totals, statusCount{Status: s, Count: n})
	}
	for _, sv := range byPLS {
		slices.SortFunc(sv.Connections, func(x, y connectionView) int {
			// Pending first: that is what an operator looks for.
			if px, py := x.Status == reconcile.StatusPending, y.Status == reconcile.StatusPending; px != py {
				if px {
					return -1
				}
				return 1
			}
			return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
		})
		d.Services = append(d.Services, *sv)
	}
	slices.SortFunc(d.Services, func(x, y serviceView) int {
		return strings.Compare(strings.ToLower(x.Name+x.ID), strings.ToLower(y.Name+y.ID))
	})

	recent, err := a.o.Store.RecentTransitions(ctx, statusRecent)
	if err != nil {
		return nil, fmt.Errorf("status page: recent transitions: %w", err)
	}
	for _, t := range recent {
		tv := transitionView{
			PLSID: t.PLSID, PLSName: lastSegment(t.PLSID), Connection: t.Connection, Actor: t.Actor, Rule: t.Rule, Reason: t.Reason,
			From: t.From, FromClass: badgeClass(t.From), To: t.To, ToClass: badgeClass(t.To), Phase: t.Phase, PhaseClass: badgeClass(t.Phase),
			At: formatTime(t.At), AtAgo: ago(d.Now, t.At),
		}
		switch t.Subject {
		case "", reconcile.SubjectConnection:
		case reconcile.SubjectSharedPrivateLink:
			tv.SubjectText = "Web PubSub shared private link"
		default:
			tv.SubjectText = t.Subject
		}
		d.Recent = append(d.Recent, tv)
	}

	if j, ok := a.runningScan(); ok {
		d.Run = &j
	} else {
		run, err := a.o.Store.LatestRun(ctx)
		switch {
		case err == nil:
			j := storedRunJSON(run)
			d.Run = &j
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("status page: latest run: %w", err)
		}
	}
	return d, nil
}

// decisionText shows a stored decision marker ("approve", "leave:<rule>", "dry-run:<action>:<rule>",
// "failed:<action>", "ambiguous:<candidates>") in words, without its rule (lastRule, the next
// column, shows it): the status page and the API's lastDecision.
func decisionText(marker string) string {
	kind, rest, _ := strings.Cut(marker, ":")
	switch kind {
	case "dry-run":
		action, _, _ := strings.Cut(rest, ":")
		return "dry run: would " + action
	case "failed":
		return rest + " failed"
	}
	return kind
}

func lastSegment(id string) string {
	id = strings.TrimRight(id, "/")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
