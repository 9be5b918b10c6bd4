package api

import (
	"errors"
	"net/http"

	"github.com/plsgate/plsgate/internal/policy"
)

// evaluateResponse is the dry-run answer: what the policy decides and on which facts.
type evaluateResponse struct {
	// Source says where the facts came from: "arm" (read live by connectionId) or "request"
	// (the ARM JSON in the request).
	Source   string          `json:"source"`
	Decision policy.Decision `json:"decision"`
	Facts    policy.Facts    `json:"facts"`
}

// evaluate is POST /evaluate: the decision with its rule trace; nothing is written anywhere.
func (a *API) evaluate(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(w, r, max(a.o.MaxBodyBytes, evaluateBodyBytes))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	req, err := parseEvaluateRequest(data)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.ConnectionID != "" {
		if err := a.checkConnectionScope(req.ConnectionID); err != nil {
			a.writeError(w, r, err)
			return
		}
		facts, d, err := a.o.Deciders.Evaluate(r.Context(), req.ConnectionID)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		writeJSON(w, a.logger(r), http.StatusOK, evaluateResponse{Source: "arm", Decision: d, Facts: facts})
		return
	}
	if a.o.Policy == nil {
		a.writeError(w, r, errors.New("api: no policy configured for evaluate"))
		return
	}
	facts, err := policy.FactsFromARM(req.Connection, req.PrivateLinkService)
	if err != nil {
		// The message is about the caller's own JSON.
		a.writeError(w, r, badRequest(CodeBadRequest, "cannot read the ARM JSON: "+clip(err.Error(), 300)))
		return
	}
	if len(req.Verified) > 0 {
		facts.Verified = req.Verified
	}
	facts.Now = a.now()
	d := a.o.Policy.Evaluate(facts)
	writeJSON(w, a.logger(r), http.StatusOK, evaluateResponse{Source: "request", Decision: d, Facts: facts})
}
