package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/plsgate/plsgate/internal/app"
)

// keepReason is the reason the printed approve/reject examples send.
const keepReason = "woodgrove signed the trial agreement"

// keep runs after the story when DEMO_KEEP=1: it leaves one request Pending
// for the user to decide, serves fresh operator tokens on loopback, and
// prints every local endpoint with ready-to-paste commands.
func (st *story) keep(ctx context.Context) error {
	name, err := st.consumerRequest(ctx, "keep", woodgroveSub, "woodgrove", woodgroveMessage)
	if err != nil {
		return err
	}
	s := st.s
	tokenURL, err := s.startTokenServer()
	if err != nil {
		return fmt.Errorf("keep: %w", err)
	}
	token, err := operatorToken(s.issuer)
	if err != nil {
		return fmt.Errorf("keep: mint the operator's token: %w", err)
	}
	p := st.p
	p.info("DEMO_KEEP=1: everything keeps running; the Reconcile timer fires every 2 minutes. Press Ctrl-C to stop.")
	p.detail("status page    %s", s.statusURL())
	p.detail("API            %s/api/v1/… with the function key: header x-functions-key: %s (or ?code=%s)", s.hostURL, FunctionKey, FunctionKey)
	p.detail("approver       %s (oid %s; in APPROVERS and APPROVERS_FORCE; AUTH_MODE=entra, tenant %s, audience %s)", Operator, OperatorOID, Tenant, APIAudience)
	p.detail("               an access token from the demo's local Entra ID stand-in, valid 1 hour:")
	p.detail("TOKEN=%s", token)
	p.detail("               another one: TOKEN=$(curl -s %s)", tokenURL)
	p.detail("pending        %s: woodgrove (subscription %s) asked with message %q; the timer recorded it, the policy leaves it", name, woodgroveSub, woodgroveMessage)
	for _, verb := range []string{"approve", "reject"} {
		p.detail("%-14s %s", verb, curlDecide(s.hostURL, verb, connID(name)))
	}
	p.detail("Event Grid     POST %s", s.webhookURL())
	p.detail("               headers aeg-event-type: Notification (SubscriptionValidation for the handshake), Content-Type: application/json; body: a JSON array of Event Grid events")
	p.detail("ARM emulator   %s (any bearer token; state and controls: %s/_emulator/state)", s.armURL, s.armURL)
	p.detail("CLI            plsgate history / plsgate reconcile on the demo's Table storage and ARM emulator:")
	for _, kv := range s.cliEnv() {
		k, v, _ := strings.Cut(kv, "=")
		p.detail("export %s=%s", k, shellQuote(v))
	}
	exe := s.o.Executable
	if rel, err := filepath.Rel(s.o.Root, exe); err == nil && !strings.HasPrefix(rel, "..") {
		exe = rel
	}
	p.detail("%s history --pls %s", exe, shellQuote(PLSID))
	p.detail("%s reconcile --dry-run", exe)
	p.detail("plsgate log    %s", s.plsgateLog.Name())
	return nil
}

// curlDecide is a ready-to-paste call of POST /api/v1/connections/{verb}
// with the function key and $TOKEN. force: the policy leaves the request.
func curlDecide(hostURL, verb, connectionID string) string {
	body, _ := json.Marshal(map[string]any{"connectionId": connectionID, "reason": keepReason, "force": true})
	return fmt.Sprintf("curl -sS -X POST %s -H %s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d %s",
		shellQuote(hostURL+"/api/v1/connections/"+verb), shellQuote("x-functions-key: "+FunctionKey), shellQuote(string(body)))
}

// cliEnv is what `plsgate history` and `plsgate reconcile` need to work on
// the demo's state: Table storage, the ARM emulator, the scope, the Web
// PubSub resources and the policy (no notifications: only serve is given
// the topic's certificate, as SSL_CERT_FILE).
func (s *stack) cliEnv() []string {
	var out []string
	for _, k := range []string{"PLSGATE_TABLES_CONNECTION", "ARM_ENDPOINT", "SCOPE_SUBSCRIPTIONS", "WEBPUBSUB_IDS", "PLSGATE_POLICY"} {
		out = append(out, k+"="+s.settings[k])
	}
	return out
}

// startTokenServer serves GET /token on loopback: a fresh access token of the
// operator, minted by the local issuer (whose key only this process holds).
func (s *stack) startTokenServer() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for the token endpoint: %w", err)
	}
	s.tokenSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/token" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		tok, err := operatorToken(s.issuer)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, tok)
	})}
	go func() {
		if err := s.tokenSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.emuLogger.Warn("token endpoint stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/token", nil
}

// shellQuote quotes v for a POSIX shell when it needs it.
func shellQuote(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,@%+=", r))
	}) < 0 {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// keepAlive fires the timer on its schedule until ctx ends.
func keepAlive(ctx context.Context, s *stack) {
	t := time.NewTicker(2 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.host.FireTimer(ctx, app.FunctionTimer, false)
		}
	}
}
