package armemu

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// operation is one ARM asynchronous operation (async-api-reference.md of
// azure-resource-manager-rpc): polled at the Azure-AsyncOperation URL until
// a terminal status; the Location URL answers 202 until done, then 204.
type operation struct {
	id      string
	fam     family
	sub     string
	loc     string
	started time.Time
	ended   time.Time
	polls   int
	done    bool
	err     *Error     // nil = Succeeded
	onDone  func(bool) // runs under e.mu when the operation ends (arg: failed)
	lro     LROOptions // Options.LRO when created
	retry   int        // Retry-After seconds to send
}

// newOpLocked registers an operation; err != nil makes it end Failed.
func (e *Emulator) newOpLocked(f family, sub, loc string, err *Error, onDone func(bool)) *operation {
	op := &operation{id: e.newGUID(), fam: f, sub: sub, loc: strings.ToLower(strings.ReplaceAll(loc, " ", "")), started: time.Now(), err: err, onDone: onDone, lro: e.opts.LRO, retry: e.opts.LRO.RetryAfter}
	e.ops[op.id] = op
	return op
}

// advanceLocked completes op when it was polled Options.LRO.InProgressPolls
// times and ran Options.LRO.MinDuration; poll counts this call as a poll
// (checked before counting, so N polls answer InProgress first).
func (e *Emulator) advanceLocked(op *operation, poll bool) {
	if op.done {
		return
	}
	if op.polls >= op.lro.InProgressPolls && time.Since(op.started) >= op.lro.MinDuration {
		op.done, op.ended = true, time.Now()
		if op.onDone != nil {
			op.onDone(op.err != nil)
		}
		return
	}
	if poll {
		op.polls++
	}
}

func (e *Emulator) opURLs(c *call, op *operation) (status, result string) {
	ns, statusSeg := "Microsoft.Network", "operations"
	if op.fam == famSignalR {
		ns, statusSeg = "Microsoft.SignalRService", "operationStatuses"
	}
	base := c.base + "/subscriptions/" + op.sub + "/providers/" + ns + "/locations/" + op.loc + "/"
	q := "?api-version=" + c.apiVersion
	return base + statusSeg + "/" + op.id + q, base + "operationResults/" + op.id + q
}

// SetLRO changes how long operations created from now on stay in progress.
func (e *Emulator) SetLRO(o LROOptions) {
	e.mu.Lock()
	e.opts.LRO = o
	e.mu.Unlock()
}

// setLROHeaders adds Azure-AsyncOperation, Location and (if configured)
// Retry-After, as the RPs do on 201/202.
func (e *Emulator) setLROHeaders(c *call, op *operation) {
	st, res := e.opURLs(c, op)
	h := c.w.Header()
	h.Set("Azure-AsyncOperation", st)
	h.Set("Location", res)
	if op.retry > 0 {
		h.Set("Retry-After", strconv.Itoa(op.retry))
	}
}

type wireOp struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	StartTime string       `json:"startTime"`
	EndTime   string       `json:"endTime,omitempty"`
	Error     *errorDetail `json:"error,omitempty"`
}

func (e *Emulator) lookupOp(c *call) (*operation, *Error) {
	op := e.ops[c.p.opID]
	if op == nil || !strings.EqualFold(op.sub, c.p.sub) {
		return nil, errf(http.StatusNotFound, CodeOperationNotFound, "The operation '%s' could not be found.", c.p.opID)
	}
	return op, nil
}

// hOperationStatus serves the Azure-AsyncOperation URL.
func (e *Emulator) hOperationStatus(c *call) {
	e.mu.Lock()
	op, err := e.lookupOp(c)
	if err != nil {
		e.mu.Unlock()
		writeError(c.w, err)
		return
	}
	e.advanceLocked(op, true)
	body := wireOp{ID: c.r.URL.Path, Name: op.id, Status: "InProgress", StartTime: op.started.UTC().Format(time.RFC3339Nano)}
	if op.done {
		body.Status, body.EndTime = "Succeeded", op.ended.UTC().Format(time.RFC3339Nano)
		if op.err != nil {
			body.Status = "Failed"
			body.Error = &errorDetail{Code: op.err.Code, Message: op.err.Message}
		}
	}
	retry := op.retry
	e.mu.Unlock()
	if body.Status == "InProgress" && retry > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	writeJSON(c.w, http.StatusOK, body)
}

// hOperationResult serves the Location URL: 202 while running, 204 when it
// succeeded, the operation's error when it failed.
func (e *Emulator) hOperationResult(c *call) {
	e.mu.Lock()
	op, err := e.lookupOp(c)
	if err != nil {
		e.mu.Unlock()
		writeError(c.w, err)
		return
	}
	e.advanceLocked(op, true)
	done, opErr, retry := op.done, op.err, op.retry
	e.mu.Unlock()
	switch {
	case !done:
		c.w.Header().Set("Location", c.base+c.r.URL.RequestURI())
		if retry > 0 {
			c.w.Header().Set("Retry-After", strconv.Itoa(retry))
		}
		c.w.WriteHeader(http.StatusAccepted)
	case opErr != nil:
		writeError(c.w, opErr)
	default:
		c.w.WriteHeader(http.StatusNoContent)
	}
}
