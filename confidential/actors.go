package confidential

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/rpc"
)

// On a network with a constitution only its actors (members and
// participants) read at all. A request without an actor's session may call
// only these methods, which reveal no chain data (a transaction proves its
// sender by its signature).
var openMethods = map[string]bool{
	"eth_chainId":            true,
	"net_version":            true,
	"web3_clientVersion":     true,
	"eth_sendRawTransaction": true,
	"coco_login":             true,
	"coco_attestation":       true, // what the node is, for clients to verify before trusting it
}

// maxBody bounds the request body read to find its methods (the RPC
// server's own limit).
const maxBody = 5 << 20

// actorsOnlyMessage says why a method was refused to a non-actor.
func actorsOnlyMessage(method string) string {
	return fmt.Sprintf("%s: this network shows its data only to its members and participants; sign in with coco_login (cocogeth session) as one of their accounts", method)
}

// isActor reports whether addr belongs to a member or participant of the
// constitution at the head; the answer is kept per head, so a session's
// requests read the state once per block, not once each.
func (g *Gate) isActor(ctx context.Context, addr common.Address) bool {
	head := g.b.CurrentHeader()
	key := actorKey{head.Hash(), addr}
	if ok, found := g.actors.Get(key); found {
		return ok
	}
	st, _, err := g.b.StateAndHeaderByNumberOrHash(ctx, rpc.BlockNumberOrHashWithHash(key.head, false))
	ok := err == nil && governance.IsActor(st, addr)
	if err == nil {
		g.actors.Add(key, ok)
	}
	return ok
}

// Handler is the gate in front of the RPC server. It lifts the session a
// request presents (Verifier.Handler: a bad one is refused). On a network
// with a constitution it lets a request without an actor's session
// through only when every method it calls is open, and a WebSocket
// connection, which reads by nature, only with an actor's session. The
// rest is answered with HTTP 401 and, per call, error -32001 saying why.
func (g *Gate) Handler(next http.Handler) http.Handler {
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.b.Spec().Coco.Governed() {
			next.ServeHTTP(w, r)
			return
		}
		if s, ok, err := g.v.SessionOf(r.Context()); err == nil && ok && g.isActor(r.Context(), s.Address) {
			if IsWebSocket(r) {
				g.serveWebSocket(next, w, r, s)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if IsWebSocket(r) {
			refuse(w, &ProofError{actorsOnlyMessage("WebSocket")})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if calls, batch, closed := closedCalls(body); closed {
			answerClosed(w, calls, batch)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
	return g.v.Handler(guarded)
}

// wsRecheck is how often an open WebSocket's session is checked again.
const wsRecheck = time.Second

// serveWebSocket serves a WebSocket connection opened with an actor's
// session for as long as that holds: a connection reads (and receives
// subscriptions) without presenting its session again, so the gate closes
// it once the session expires or its account stops being an actor (a
// member or participant voted out). The client may reconnect with a
// valid session, or is refused at the handshake with the reason.
func (g *Gate) serveWebSocket(next http.Handler, w http.ResponseWriter, r *http.Request, s Session) {
	tap := &hijackTap{ResponseWriter: w}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			wait := min(wsRecheck, time.Until(s.Expires))
			select {
			case <-done:
				return
			case <-time.After(max(wait, 0)):
			}
			reason := ""
			if !g.v.now().Before(s.Expires) {
				reason = "session expired"
			} else if !g.isActor(context.Background(), s.Address) {
				reason = "account no longer a member's or participant's"
			}
			if reason != "" {
				if c := tap.conn(); c != nil {
					log.Info("Closed a WebSocket whose session no longer reads", "account", s.Address, "reason", reason)
					c.Close()
				}
				return
			}
		}
	}()
	next.ServeHTTP(tap, r) // returns when the connection closes
}

// hijackTap keeps the connection the WebSocket upgrade takes over, so
// that the gate can close it.
type hijackTap struct {
	http.ResponseWriter
	mu sync.Mutex
	c  net.Conn
}

func (h *hijackTap) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be taken over")
	}
	c, rw, err := hj.Hijack()
	if err == nil {
		h.mu.Lock()
		h.c = c
		h.mu.Unlock()
	}
	return c, rw, err
}

func (h *hijackTap) conn() net.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c
}

// rpcCall is what the gate reads of a JSON-RPC call.
type rpcCall struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// closedCalls parses a request (one call or a batch) and reports whether
// it calls a method that is not open. A body that does not parse is left
// to the server, which answers it with the right error.
func closedCalls(body []byte) (calls []rpcCall, batch, closed bool) {
	trimmed := bytes.TrimSpace(body)
	if batch = len(trimmed) > 0 && trimmed[0] == '['; batch {
		if json.Unmarshal(trimmed, &calls) != nil {
			return nil, false, false
		}
	} else {
		var c rpcCall
		if json.Unmarshal(trimmed, &c) != nil {
			return nil, false, false
		}
		calls = []rpcCall{c}
	}
	for _, c := range calls {
		if !openMethods[c.Method] {
			return calls, batch, true
		}
	}
	return calls, batch, false
}

// answerClosed refuses a request that calls a closed method: every call
// of it (a batch is refused as a whole) gets the actors-only error.
func answerClosed(w http.ResponseWriter, calls []rpcCall, batch bool) {
	out := make([]map[string]any, len(calls))
	for i, c := range calls {
		id := c.ID
		if id == nil {
			id = json.RawMessage("null")
		}
		msg := actorsOnlyMessage(c.Method)
		if openMethods[c.Method] {
			msg = fmt.Sprintf("%s: refused with the rest of its batch (%s)", c.Method, actorsOnlyMessage("the batch"))
		}
		out[i] = map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32001, "message": msg}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	if batch {
		json.NewEncoder(w).Encode(out)
		return
	}
	json.NewEncoder(w).Encode(out[0])
}

// ConstitutionLifetime returns the longest session b's network allows now:
// the constitution's session lifetime at the head (its settings), or
// DefaultSessionLifetime on a network without one.
func ConstitutionLifetime(b Backend, governed bool) func() time.Duration {
	return func() time.Duration {
		if !governed {
			return DefaultSessionLifetime
		}
		st, _, err := b.StateAndHeaderByNumberOrHash(context.Background(), rpc.BlockNumberOrHashWithNumber(rpc.LatestBlockNumber))
		if err != nil {
			return DefaultSessionLifetime
		}
		return governance.ReadSettings(st).Session()
	}
}
