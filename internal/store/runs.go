package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// Run is one reconcile run (timer tick, CLI run) and its counters.
type Run struct {
	ID, Trigger, Status                            string
	StartedAt, FinishedAt                          time.Time
	Scanned, Total, Acted, Observed, Drift, Failed int
	Continuation, Error                            string // Error is truncated to 16 KiB
	ETag                                           string
}

// NewRunID returns a run ID that sorts newest first (inverted start time) and is unique (random
// suffix). PutRun assigns one when Run.ID is empty; LatestRun relies on this order.
func NewRunID(startedAt time.Time) (string, error) {
	inv, err := invertedTime(startedAt)
	if err != nil {
		return "", fmt.Errorf("store: run start time: %w", err)
	}
	return inv + "-" + newWriteID()[:8], nil
}

// PutRun creates (r.ETag == "": Add; ErrConflict if the ID exists) or updates (If-Match r.ETag) a
// run, and sets r.ETag. An empty ID gets NewRunID(r.StartedAt) (StartedAt defaults to now); IDs
// chosen by the caller are allowed but then LatestRun orders them by ID, not by time.
func (s *Store) PutRun(ctx context.Context, r *Run) error {
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now().UTC()
	}
	if r.ID == "" {
		id, err := NewRunID(r.StartedAt)
		if err != nil {
			return err
		}
		r.ID = id
	}
	rk, err := key("run ID", r.ID)
	if err != nil {
		return err
	}
	r.Error = truncate(r.Error)
	e := newEntity(runPartition, rk)
	e.str("Trigger", r.Trigger)
	e.str("Status", r.Status)
	e.time("StartedAt", r.StartedAt)
	e.time("FinishedAt", r.FinishedAt)
	e.int("Scanned", r.Scanned)
	e.int("Total", r.Total)
	e.int("Acted", r.Acted)
	e.int("Observed", r.Observed)
	e.int("Drift", r.Drift)
	e.int("Failed", r.Failed)
	e.str("Continuation", r.Continuation)
	e.str("Error", r.Error)
	etag, err := put(ctx, s.runs, e, r.ETag)
	if err != nil {
		return fmt.Errorf("store: put run %s: %w", r.ID, err)
	}
	r.ETag = etag
	return nil
}

// GetRun reads a run by ID; ErrNotFound if there is none.
func (s *Store) GetRun(ctx context.Context, id string) (*Run, error) {
	rk, err := key("run ID", id)
	if err != nil {
		return nil, err
	}
	r, etag, err := get(ctx, s.runs, runPartition, rk)
	if err != nil {
		return nil, fmt.Errorf("store: get run %s: %w", id, err)
	}
	run, err := decodeRun(r)
	if err != nil {
		return nil, fmt.Errorf("store: get run %s: %w", id, err)
	}
	run.ETag = etag
	return run, nil
}

// LatestRun returns the most recently started run (the first row of the "run" partition, since
// store-assigned IDs sort newest first); ErrNotFound if there has been none.
func (s *Store) LatestRun(ctx context.Context) (*Run, error) {
	f := eq("PartitionKey", runPartition)
	var run *Run
	_, err := scanAll(ctx, s.runs, &aztables.ListEntitiesOptions{Filter: &f}, 1, func(r row) error {
		var err error
		run, err = decodeRun(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: latest run: %w", err)
	}
	if run == nil {
		return nil, fmt.Errorf("store: latest run: %w", ErrNotFound)
	}
	return run, nil
}

func decodeRun(r row) (*Run, error) {
	id, err := UnescapeKey(r.str("RowKey"))
	if err != nil {
		return nil, err
	}
	run := &Run{
		ID:           id,
		Trigger:      r.str("Trigger"),
		Status:       r.str("Status"),
		Continuation: r.str("Continuation"),
		Error:        r.str("Error"),
		ETag:         r.str("odata.etag"),
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"StartedAt", &run.StartedAt}, {"FinishedAt", &run.FinishedAt}} {
		if *f.dst, err = r.time(f.name); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"Scanned", &run.Scanned}, {"Total", &run.Total}, {"Acted", &run.Acted}, {"Observed", &run.Observed}, {"Drift", &run.Drift}, {"Failed", &run.Failed}} {
		if *f.dst, err = r.int(f.name); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// GetCheckpoint returns the stored position of a resumable scan for scope, or "" when there is none
// (start from the beginning).
func (s *Store) GetCheckpoint(ctx context.Context, scope string) (string, error) {
	rk, err := key("checkpoint scope", scope)
	if err != nil {
		return "", err
	}
	r, _, err := get(ctx, s.runs, checkpointPartition, rk)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: get checkpoint %s: %w", scope, err)
	}
	return r.str("Value"), nil
}

// PutCheckpoint stores value as the position for scope (last writer wins: the timer runs as a
// singleton). An empty value deletes the checkpoint (the scan finished).
func (s *Store) PutCheckpoint(ctx context.Context, scope, value string) error {
	rk, err := key("checkpoint scope", scope)
	if err != nil {
		return err
	}
	if value == "" {
		_, err := s.runs.DeleteEntity(ctx, checkpointPartition, rk, nil)
		if code, _ := statusCode(err); err != nil && code != 404 {
			return fmt.Errorf("store: delete checkpoint %s: %w", scope, err)
		}
		return nil
	}
	e := newEntity(checkpointPartition, rk)
	e.str("Value", value)
	e.time("UpdatedAt", time.Now())
	if err := e.check(); err != nil {
		return fmt.Errorf("store: put checkpoint %s: %w", scope, err)
	}
	body, err := marshal(e)
	if err != nil {
		return err
	}
	if _, err := s.runs.UpsertEntity(ctx, body, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		return fmt.Errorf("store: put checkpoint %s: %w", scope, err)
	}
	return nil
}
