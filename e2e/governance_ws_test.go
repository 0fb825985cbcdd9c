package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/confidential"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// A WebSocket reads without presenting its session again, so on a governed
// network the node closes it when the session that opened it expires, or
// when its account is voted out of the actors; a new handshake is then
// refused. Before that it reads as usual.
func TestGovernedWebSocketEndsWithItsSession(t *testing.T) {
	g := startGoverned(t)
	n := g.Nodes[0]
	c := ctx(t, 2*time.Minute)

	login := func(actor string, ttl time.Duration) string {
		t.Helper()
		msg, sig, err := confidential.SignIn(testnode.GovKey(actor), testnode.DevChainID, n.HTTPURL(), ttl)
		if err != nil {
			t.Fatal(err)
		}
		var res confidential.LoginResult
		if err := n.RPC().CallContext(c, &res, "coco_login", msg, sig); err != nil {
			t.Fatalf("coco_login as %s: %v", actor, err)
		}
		return res.Token
	}
	// open dials the WebSocket with token and subscribes to new heads.
	open := func(token string) (*rpc.Client, *rpc.ClientSubscription, error) {
		cl, err := rpc.DialOptions(c, n.WSURL(), rpc.WithHeader("Authorization", "Bearer "+token))
		if err != nil {
			return nil, nil, err
		}
		t.Cleanup(cl.Close)
		var head string
		if err := cl.CallContext(c, &head, "eth_blockNumber"); err != nil {
			return cl, nil, err
		}
		sub, err := cl.EthSubscribe(c, make(chan *types.Header, 64), "newHeads")
		return cl, sub, err
	}
	// closedWithin waits for the subscription to end.
	closedWithin := func(what string, sub *rpc.ClientSubscription, d time.Duration) {
		t.Helper()
		select {
		case <-sub.Err():
		case <-time.After(d):
			t.Fatalf("%s: the WebSocket is still open after %v", what, d)
		}
	}

	// The network view is a read like any other: nothing for an outsider.
	anon, err := rpc.DialContext(c, n.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	var view []map[string]any
	if err := anon.CallContext(c, &view, "coco_network"); err == nil || !strings.Contains(err.Error(), "only to its members and participants") {
		t.Fatalf("coco_network without a session: %v %v", view, err)
	}

	// A session that expires.
	const ttl = 5 * time.Second
	short := login("B", ttl)
	opened := time.Now()
	cl, sub, err := open(short)
	if err != nil {
		t.Fatalf("member B over WebSocket: %v", err)
	}
	closedWithin("an expired session", sub, ttl+5*time.Second)
	if since := time.Since(opened); since < ttl-time.Second {
		t.Fatalf("closed after %v, before the session expired", since)
	}
	var head string
	if err := cl.CallContext(c, &head, "eth_blockNumber"); err == nil {
		t.Fatal("a call over the closed WebSocket answered")
	}
	if _, _, err := open(short); err == nil {
		t.Fatal("a WebSocket opened with an expired session")
	}

	// An account voted out: participant D is removed by A and B.
	_, subD, err := open(login("D", time.Hour))
	if err != nil {
		t.Fatalf("participant D over WebSocket: %v", err)
	}
	r := govTransact(t, g.Wallet(0, "A"), "proposeRemoveParticipant", "D")
	id := govProposalID(t, r)
	select {
	case err := <-subD.Err():
		t.Fatalf("D's WebSocket closed while D was still a participant: %v", err)
	default:
	}
	govTransact(t, g.Wallet(0, "B"), "vote", id, true)
	closedWithin("a participant voted out", subD, 10*time.Second)
	if _, _, err := open(login("D", time.Hour)); err == nil {
		t.Fatal("a WebSocket opened for an account that is no longer a participant")
	}
}
