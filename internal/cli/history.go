package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/plsgate/plsgate/internal/api"
	"github.com/plsgate/plsgate/internal/arm"
	"github.com/plsgate/plsgate/internal/config"
	"github.com/plsgate/plsgate/internal/store"
)

const historyUsageText = `usage: plsgate history --pls ID [--connection NAME] [--limit N] [--output text|json]

Prints the recorded transitions of a private link service's connections (or those of a
resource of another kind plsgate manages), newest first:
what plsgate observed, decided and did, who or which rule acted, and why. History is
append-only; nothing here changes it. Table storage is found through the same settings
as serve (PLSGATE_TABLES_CONNECTION or PLSGATE_TABLES_ENDPOINT, PLSGATE_TABLE_PREFIX).
Exit 0: printed (also when nothing is recorded); 1: Table storage failed; 2: bad
arguments or configuration.

flags:
`

// History runs `plsgate history`; env.Args are the arguments after "history".
func History(ctx context.Context, env Env) int {
	stderr := env.Stderr
	fset := flag.NewFlagSet("plsgate history", flag.ContinueOnError)
	fset.SetOutput(stderr)
	plsID := fset.String("pls", "", "private link service (or other managed resource) `ID` (required)")
	conn := fset.String("connection", "", "only this connection (its `NAME`, as ARM spells it)")
	limit := fset.Int("limit", 50, "at most `N` transitions (1-1000)")
	output := fset.String("output", "text", "output `format`: text or json")
	fset.Usage = func() {
		fmt.Fprint(stderr, historyUsageText)
		fset.PrintDefaults()
	}
	pos, code, ok := parseFlags(fset, env.Args, stderr)
	if !ok {
		return code
	}
	ok = false
	switch {
	case len(pos) > 0:
		fmt.Fprintf(stderr, "plsgate history: unexpected arguments %q\n", pos)
	case *plsID == "":
		fmt.Fprintln(stderr, "plsgate history: --pls is required")
	case *limit < 1 || *limit > 1000:
		fmt.Fprintf(stderr, "plsgate history: --limit %d: want 1 to 1000\n", *limit)
	case !validOutput(*output):
		fmt.Fprintf(stderr, "plsgate history: --output %q: want text or json\n", *output)
	default:
		ok = true
	}
	if !ok {
		fset.Usage()
		return ExitUsage
	}
	if err := checkResourceID(*plsID); err != nil {
		fmt.Fprintf(stderr, "plsgate history: --pls: %v\n", err)
		return ExitUsage
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate: invalid configuration:\n%v\n", err)
		return ExitUsage
	}
	// Only Table storage is needed: no policy, no ARM client.
	var cred azcore.TokenCredential
	if cfg.TablesConnection == "" {
		if cred, err = arm.NewCredential(cfg.AzureClientID); err != nil {
			fmt.Fprintf(stderr, "plsgate history: credential: %v\n", err)
			return ExitRuntime
		}
	}
	st, err := store.New(ctx, store.Options{ConnectionString: cfg.TablesConnection, Endpoint: cfg.TablesEndpoint, Credential: cred, TablePrefix: cfg.TablePrefix})
	if err != nil {
		fmt.Fprintf(stderr, "plsgate history: table storage: %v\n", err)
		return ExitRuntime
	}
	items, err := st.ListTransitions(ctx, *plsID, *conn, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "plsgate history: %v\n", err)
		return ExitCode(err) // 2 for bad input (an ID over the Table key limit), else 1
	}
	if *output == "json" {
		out := historyOutput{PrivateLinkServiceID: *plsID, Connection: *conn, Items: make([]api.TransitionJSON, 0, len(items))}
		for _, t := range items {
			out.Items = append(out.Items, api.NewTransitionJSON(t))
		}
		return writeJSON(env.Stdout, stderr, out)
	}
	writeHistoryText(env.Stdout, *plsID, *conn, items)
	return ExitOK
}

// historyOutput is the --output json shape of `history` (the fields of the
// API's GET /api/v1/connections/history items).
type historyOutput struct {
	PrivateLinkServiceID string               `json:"privateLinkServiceId"`
	Connection           string               `json:"connection,omitempty"`
	Items                []api.TransitionJSON `json:"items"`
}

func writeHistoryText(w io.Writer, plsID, conn string, items []store.Transition) {
	what := "connections of " + plsID
	if conn != "" {
		what = "connection " + conn + " on " + plsID
	}
	if len(items) == 0 {
		fmt.Fprintf(w, "no transitions recorded for %s\n", what)
		return
	}
	fmt.Fprintf(w, "%d transitions of %s, newest first\n\n", len(items), what)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if conn == "" {
		fmt.Fprint(tw, "TIME (UTC)\tCONNECTION\tSUBJECT\tFROM→TO\tPHASE\tACTOR\tRULE\tREASON\tEVENT\n")
	} else {
		fmt.Fprint(tw, "TIME (UTC)\tSUBJECT\tFROM→TO\tPHASE\tACTOR\tRULE\tREASON\tEVENT\n")
	}
	for _, t := range items {
		at := t.At.UTC().Format("2006-01-02 15:04:05.000")
		change := dash(t.From) + "→" + dash(t.To)
		event := t.EventID
		if event == "" && t.Trigger != "" {
			event = "(" + t.Trigger + ")"
		}
		cols := []any{at, t.Subject, change, dash(t.Phase), dash(t.Actor), dash(t.Rule), clip(oneLine(t.Reason), 80), dash(event)}
		if conn == "" {
			cols = append([]any{at, dash(t.Connection)}, cols[1:]...)
		}
		for i, c := range cols {
			sep := "\t"
			if i == len(cols)-1 {
				sep = "\n"
			}
			fmt.Fprint(tw, c, sep)
		}
	}
	_ = tw.Flush()
}
