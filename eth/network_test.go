package eth

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
)

// networkOf asks nd's cluster node for the network view.
func networkOf(t *testing.T, nd *cnode) map[string]cocobackend.NodeStatus {
	t.Helper()
	view, err := nd.ledger.Network(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]cocobackend.NodeStatus, len(view))
	for _, n := range view {
		out[n.ID] = n
	}
	return out
}

// Any node's network view lists every validating node with its role, the
// leader and applied index, asked over the authenticated channel; a
// stopped node shows unreachable with the reason, and reachable again once
// it restarts; a new leader shows in every view.
func TestClusterNetworkView(t *testing.T) {
	c := newECluster(t, 3, 8, nil)
	lead := c.leader()
	f := c.others(lead)[0]
	a := newAccount(keyA)
	send(t, f, a, recvAddr, 1, 3)
	waitNonce(t, addrA, a.nonce, c.nodes...)

	var view map[string]cocobackend.NodeStatus
	waitFor(t, "a view where every node applied the same index", func() bool {
		view = networkOf(t, f)
		for _, n := range view {
			if !n.Reachable || n.Lag != 0 {
				return false
			}
		}
		return true
	})
	if len(view) != 3 {
		t.Fatalf("%d nodes in the view: %+v", len(view), view)
	}
	for _, nd := range c.nodes {
		n, ok := view[nd.id]
		if !ok {
			t.Fatalf("%s missing from the view", nd.id)
		}
		if n.Self != (nd == f) || n.Leader != lead.id || n.AppliedIndex == 0 {
			t.Errorf("%s: %+v (self %v, leader %s)", nd.id, n, nd == f, lead.id)
		}
		if want := map[bool]string{true: "leader", false: "follower"}[nd == lead]; n.Role != want {
			t.Errorf("%s role %q, want %q", nd.id, n.Role, want)
		}
		// The test guard requires no attestation: nothing is claimed.
		if n.TEE != "unattested" || len(n.Code) != 0 {
			t.Errorf("%s: TEE %q code %x without attestation", nd.id, n.TEE, n.Code)
		}
	}

	c.stop(lead)
	next := c.leader(c.others(lead)...)
	waitFor(t, "the stopped leader unreachable and the new one leading in the view", func() bool {
		view = networkOf(t, f)
		return !view[lead.id].Reachable && view[lead.id].Error != "" && view[next.id].Role == "leader" && view[f.id].Leader == next.id
	})

	c.start(lead)
	waitFor(t, "the restarted node reachable as a follower", func() bool {
		view = networkOf(t, f)
		return view[lead.id].Reachable && view[lead.id].Role == "follower"
	})
}

// The status channel is a channel of the authenticated mux: a dialer that
// names it without the handshake of an admitted node gets no status, only
// a closed connection.
func TestStatusChannelRefusesOutsiders(t *testing.T) {
	c := newECluster(t, 3, 8, nil)
	c.leader()
	conn, err := c.c.Net.Host("outsider:1").Dial(c.nodes[0].Node.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{cocobackend.ChannelStatus}); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	if bytes.Contains(b, []byte(`"appliedIndex"`)) || bytes.Contains(b, []byte(`"role"`)) {
		t.Fatalf("an outsider read the node's status: %q", b)
	}
}
