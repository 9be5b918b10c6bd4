package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/notify"
	"github.com/plsgate/plsgate/internal/reconcile"
	"github.com/plsgate/plsgate/internal/topicemu"
)

// renderTimeline prints transitions of several connections oldest first.
// rows come newest first per connection (as the API answers).
func renderTimeline(w io.Writer, rows []Transition, labels map[string]string) {
	sorted := slices.Clone(rows)
	slices.Reverse(sorted) // oldest first within each connection; the stable sort keeps it for equal times
	slices.SortStableFunc(sorted, func(a, b Transition) int { return a.At.Compare(b.At) })
	for _, t := range sorted {
		label := labels[strings.ToLower(t.Connection)]
		if label == "" {
			label = t.Connection
		}
		from := t.From
		if from == "" {
			from = "(new)"
		}
		change := from + " → " + t.To
		if t.Subject == reconcile.SubjectDrift {
			change = t.To + "; policy: " + t.Action
		}
		fmt.Fprintf(w, "   %s  %-3s %-12s %-23s %-9s %-6s %-32s %s\n",
			t.At.Local().Format("15:04:05.000"), label, subjectText(t.Subject), change, t.Phase, t.Trigger, t.Actor, clip(t.Reason, 80))
	}
}

func subjectText(s string) string {
	switch s {
	case reconcile.SubjectSharedPrivateLink:
		return "shared link"
	case "", reconcile.SubjectConnection:
		return "connection"
	}
	return s
}

// expectedNote is a notification the story must produce: the event type's
// last part (e.g. "Approved") for a connection.
type expectedNote struct{ Type, Connection string }

// note is a received CloudEvent with its decoded data.
type note struct {
	Type string
	Data notify.Data
}

// waitNotifications polls the topic until every expected notification arrived
// or the wait is over; it returns what arrived and what is missing.
func (st *story) waitNotifications(ctx context.Context, want []expectedNote) ([]note, []string) {
	deadline := time.Now().Add(st.wait)
	for {
		notes := decodeNotes(st.s.topic.Events())
		missing := missingNotes(notes, want)
		if len(missing) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return notes, missing
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func decodeNotes(evs []topicemu.Event) []note {
	out := make([]note, 0, len(evs))
	for _, e := range evs {
		n := note{Type: e.Type}
		_ = json.Unmarshal(e.Data, &n.Data)
		out = append(out, n)
	}
	return out
}

func missingNotes(notes []note, want []expectedNote) []string {
	var missing []string
	for _, w := range want {
		found := slices.ContainsFunc(notes, func(n note) bool {
			return n.Type == notify.EventTypePrefix+w.Type && strings.EqualFold(n.Data.Connection, w.Connection)
		})
		if !found {
			missing = append(missing, w.Type+" for "+w.Connection)
		}
	}
	return missing
}

func noteTypes(notes []note) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = strings.TrimPrefix(n.Type, notify.EventTypePrefix) + " " + n.Data.Connection
	}
	return out
}

// renderNotifications prints one line per received CloudEvent.
func renderNotifications(w io.Writer, notes []note, labels map[string]string) {
	for _, n := range notes {
		d := n.Data
		label := labels[strings.ToLower(d.Connection)]
		if label == "" {
			label = d.Connection
		}
		change := d.From + " → " + d.To
		if d.From == d.To {
			change = d.To
		}
		why := d.Reason
		if d.Rule != "" && d.Decision == "approve" {
			why = "rule " + d.Rule
		}
		fmt.Fprintf(w, "   %-30s %-3s %-20s %s\n", n.Type, label, change, clip(why, 80))
	}
}
