package confidential

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/rpc"
)

// A session reaches a request's handlers in its context. Over HTTP the
// handler in front of the RPC server puts it there. A WebSocket connection
// is served by the RPC server in a context of its own, so the session
// proven at the handshake is bound to the connection instead, by its
// remote address, which go-ethereum's rpc carries into every call on the
// connection (rpc.PeerInfo) and no client can choose.

type sessionKey struct{}

// WithSession returns ctx carrying the caller's session.
func WithSession(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// sessionToken is the session a request presented: the Authorization
// header's bearer token, or the session query parameter; "" for none.
func sessionToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		return strings.TrimSpace(token), ok
	}
	if q, ok := r.URL.Query()["session"]; ok {
		return q[len(q)-1], true
	}
	return "", false
}

// Handler lifts the session a request presents (Authorization: Bearer, or
// ?session= in the URL, for wallets that only take a URL) into its
// context; for a WebSocket handshake, into the connection. A request
// without one is anonymous. A token that does not verify is refused with
// HTTP 401 and a JSON-RPC error saying why: it never falls back to
// anonymous.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, presented := sessionToken(r)
		if !presented {
			next.ServeHTTP(w, r)
			return
		}
		s, err := v.Session(token)
		if err != nil {
			refuse(w, err)
			return
		}
		if !IsWebSocket(r) {
			next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), s)))
			return
		}
		v.conns.bind(r.RemoteAddr, token)
		defer v.conns.unbind(r.RemoteAddr)
		// The context carries it to the handlers in front of the RPC
		// server too; the server serves the connection in its own.
		next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), s))) // returns when the connection closes
	})
}

// IsWebSocket reports whether r asks to upgrade to a WebSocket.
func IsWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// refuse answers a request whose session does not verify.
func refuse(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	code := -32001
	if pe, ok := err.(*ProofError); ok {
		code = pe.ErrorCode()
	}
	json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": code, "message": err.Error()},
	})
}

// wsSessions binds WebSocket connections (by remote address) to the
// session tokens of their handshakes.
type wsSessions struct {
	mu     sync.Mutex
	tokens map[string]string
}

func (c *wsSessions) bind(addr, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = make(map[string]string)
	}
	c.tokens[addr] = token
}

func (c *wsSessions) unbind(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tokens, addr)
}

func (c *wsSessions) token(addr string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[addr]
	return t, ok
}

// SessionOf returns the session of the request ctx belongs to: none (ok
// false) for an anonymous request; an error when the session presented
// has expired since.
func (v *Verifier) SessionOf(ctx context.Context) (Session, bool, error) {
	if s, ok := ctx.Value(sessionKey{}).(Session); ok {
		if !v.now().Before(s.Expires) {
			_, err := v.Session(s.Token)
			return Session{}, true, err
		}
		return s, true, nil
	}
	if info := rpc.PeerInfoFromContext(ctx); info.Transport == "ws" {
		if token, ok := v.conns.token(info.RemoteAddr); ok {
			s, err := v.Session(token)
			return s, true, err
		}
	}
	return Session{}, false, nil
}
