package memstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"sync/atomic"
	"time"

	"github.com/plsgate/plsgate/internal/store"
)

// Service exposes a Store over net/rpc (gob over TCP on loopback).
type Service struct{ s *Store }

// Key names a connection row (Name) or a transition row (ID) of a PLS.
type Key struct{ PLSID, Name string }

// ListReply is ListConnections' answer.
type ListReply struct {
	Items []store.Connection
	Next  string
}

// AppendReply is AppendTransition's answer.
type AppendReply struct {
	Created  bool
	ID, ETag string
}

func (v *Service) ListConnections(q store.ConnectionQuery, r *ListReply) (err error) {
	r.Items, r.Next, err = v.s.ListConnections(context.Background(), q)
	return err
}

func (v *Service) GetConnection(k Key, r *store.Connection) error {
	c, err := v.s.GetConnection(context.Background(), k.PLSID, k.Name)
	if err == nil {
		*r = *c
	}
	return err
}

// PutConnection answers the row as written (ETag, a defaulted UpdatedAt), as the direct store
// leaves it in the caller's struct.
func (v *Service) PutConnection(c store.Connection, r *store.Connection) error {
	err := v.s.PutConnection(context.Background(), &c)
	*r = c
	return err
}

func (v *Service) AppendTransition(t store.Transition, r *AppendReply) error {
	created, err := v.s.AppendTransition(context.Background(), &t)
	*r = AppendReply{Created: created, ID: t.ID, ETag: t.ETag}
	return err
}

func (v *Service) UpdateTransition(t store.Transition, etag *string) error {
	err := v.s.UpdateTransition(context.Background(), &t)
	*etag = t.ETag
	return err
}

func (v *Service) GetTransition(k Key, r *store.Transition) error {
	t, err := v.s.GetTransition(context.Background(), k.PLSID, k.Name)
	if err == nil {
		*r = *t
	}
	return err
}

func (v *Service) PutRun(run store.Run, r *store.Run) error {
	err := v.s.PutRun(context.Background(), &run)
	*r = run
	return err
}

func (v *Service) GetCheckpoint(scope string, r *string) (err error) {
	*r, err = v.s.GetCheckpoint(context.Background(), scope)
	return err
}

// SightReply is SharedLinkSighting's and SightSharedLink's answer.
type SightReply struct{ At time.Time }

// SightArgs is SightSharedLink's request.
type SightArgs struct {
	SPLID string
	At    time.Time
}

func (v *Service) AddBinding(b store.Binding, etag *string) error {
	err := v.s.AddBinding(context.Background(), &b)
	*etag = b.ETag
	return err
}

func (v *Service) GetBinding(k Key, r *store.Binding) error {
	b, err := v.s.GetBinding(context.Background(), k.PLSID, k.Name)
	if err == nil {
		*r = *b
	}
	return err
}

func (v *Service) SharedLinkSighting(splID string, r *SightReply) (err error) {
	r.At, err = v.s.SharedLinkSighting(context.Background(), splID)
	return err
}

func (v *Service) SightSharedLink(a SightArgs, r *SightReply) (err error) {
	r.At, err = v.s.SightSharedLink(context.Background(), a.SPLID, a.At)
	return err
}

func (v *Service) PutCheckpoint(kv [2]string, _ *bool) error {
	return v.s.PutCheckpoint(context.Background(), kv[0], kv[1])
}

func (v *Service) Stats(_ int, r *Stats) error {
	*r = v.s.Stats()
	return nil
}

// Serve answers RPCs for s on ln until ln is closed (then it returns nil).
func Serve(ln net.Listener, s *Store) error {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Store", &Service{s: s}); err != nil {
		return fmt.Errorf("memstore: register: %w", err)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("memstore: accept: %w", err)
		}
		go srv.ServeConn(conn)
	}
}

// Client is a Store in another process. It has the method sets of
// reconcile.Store and reconcile.RunRecorder. The context is not sent: calls
// are short and local.
type Client struct {
	c     *rpc.Client
	calls atomic.Int64
}

// Calls is the number of store calls made through this client.
func (c *Client) Calls() int64 { return c.calls.Load() }

func (c *Client) call(method string, args, reply any) error {
	c.calls.Add(1)
	return c.c.Call(method, args, reply)
}

// Dial connects to a Serve-d store at addr (host:port).
func Dial(addr string) (*Client, error) {
	c, err := rpc.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("memstore: dial %s: %w", addr, err)
	}
	return &Client{c: c}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

func (c *Client) ListConnections(_ context.Context, q store.ConnectionQuery) ([]store.Connection, string, error) {
	var r ListReply
	if err := c.call("Store.ListConnections", q, &r); err != nil {
		return nil, "", sentinel(err)
	}
	return r.Items, r.Next, nil
}

func (c *Client) GetConnection(_ context.Context, plsID, name string) (*store.Connection, error) {
	var r store.Connection
	if err := c.call("Store.GetConnection", Key{plsID, name}, &r); err != nil {
		return nil, sentinel(err)
	}
	return &r, nil
}

func (c *Client) PutConnection(_ context.Context, row *store.Connection) error {
	var r store.Connection
	if err := c.call("Store.PutConnection", *row, &r); err != nil {
		return sentinel(err)
	}
	*row = r
	return nil
}

func (c *Client) AppendTransition(_ context.Context, t *store.Transition) (bool, error) {
	var r AppendReply
	if err := c.call("Store.AppendTransition", *t, &r); err != nil {
		return false, sentinel(err)
	}
	t.ID, t.ETag = r.ID, r.ETag
	return r.Created, nil
}

func (c *Client) UpdateTransition(_ context.Context, t *store.Transition) error {
	var etag string
	if err := c.call("Store.UpdateTransition", *t, &etag); err != nil {
		return sentinel(err)
	}
	t.ETag = etag
	return nil
}

func (c *Client) GetTransition(_ context.Context, plsID, id string) (*store.Transition, error) {
	var r store.Transition
	if err := c.call("Store.GetTransition", Key{plsID, id}, &r); err != nil {
		return nil, sentinel(err)
	}
	return &r, nil
}

func (c *Client) PutRun(_ context.Context, run *store.Run) error {
	var r store.Run
	if err := c.call("Store.PutRun", *run, &r); err != nil {
		return sentinel(err)
	}
	*run = r
	return nil
}

func (c *Client) GetCheckpoint(_ context.Context, scope string) (string, error) {
	var r string
	if err := c.call("Store.GetCheckpoint", scope, &r); err != nil {
		return "", sentinel(err)
	}
	return r, nil
}

func (c *Client) PutCheckpoint(_ context.Context, scope, value string) error {
	var ok bool
	return sentinel(c.call("Store.PutCheckpoint", [2]string{scope, value}, &ok))
}

func (c *Client) AddBinding(_ context.Context, b *store.Binding) error {
	var etag string
	if err := c.call("Store.AddBinding", *b, &etag); err != nil {
		return sentinel(err)
	}
	b.ETag = etag
	return nil
}

// GetBinding reads one binding; the Key's PLSID carries the shared private link resource ID and
// its Name the instance.
func (c *Client) GetBinding(_ context.Context, splID, instance string) (*store.Binding, error) {
	var r store.Binding
	if err := c.call("Store.GetBinding", Key{splID, instance}, &r); err != nil {
		return nil, sentinel(err)
	}
	return &r, nil
}

func (c *Client) SharedLinkSighting(_ context.Context, splID string) (time.Time, error) {
	var r SightReply
	if err := c.call("Store.SharedLinkSighting", splID, &r); err != nil {
		return time.Time{}, sentinel(err)
	}
	return r.At, nil
}

func (c *Client) SightSharedLink(_ context.Context, splID string, at time.Time) (time.Time, error) {
	var r SightReply
	if err := c.call("Store.SightSharedLink", SightArgs{splID, at}, &r); err != nil {
		return time.Time{}, sentinel(err)
	}
	return r.At, nil
}

// Stats returns the remote store's row counts.
func (c *Client) Stats() (Stats, error) {
	var r Stats
	err := c.c.Call("Store.Stats", 0, &r)
	return r, err
}
