package testnode

import (
	"io"
	"net"
	"testing"
	"time"
)

// echoServer accepts connections on ip and echoes what it reads.
func echoServer(t *testing.T, ip net.IP) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln
}

// dialFrom dials addr from the loopback IP of node i.
func dialFrom(i int, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: NodeIP(i)}, Timeout: time.Second}
	return d.Dial("tcp", addr)
}

// echoes reports whether a round trip over conn works.
func echoes(conn net.Conn) bool {
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("ping")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	_, err := io.ReadFull(conn, buf)
	return err == nil && string(buf) == "ping"
}

// TestProxyPartition checks the proxies without nodes: three echo servers
// behind proxies, connections from the nodes' loopback IPs.
func TestProxyPartition(t *testing.T) {
	if err := CheckLoopbackIPs(3); err != nil {
		t.Skipf("loopback addresses unusable: %v", err)
	}
	c := &Cluster{t: t}
	for i := 0; i < 3; i++ {
		c.ips = append(c.ips, NodeIP(i))
		c.IDs = append(c.IDs, "x")
		target := echoServer(t, NodeIP(i)).Addr().String()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := newProxy(i, ln, target, c.allowed, c.nodeOf)
		t.Cleanup(p.Close)
		c.Proxies = append(c.Proxies, p)
		c.Nodes = append(c.Nodes, nil)
	}
	// 0 → 1 and 2 → 1 work; the connection from 0 is cut by isolating 0.
	c01, err := dialFrom(0, c.Proxies[1].Addr())
	if err != nil || !echoes(c01) {
		t.Fatalf("0→1 before partition: %v", err)
	}
	c21, err := dialFrom(2, c.Proxies[1].Addr())
	if err != nil || !echoes(c21) {
		t.Fatalf("2→1 before partition: %v", err)
	}
	c.Isolate(0)
	if echoes(c01) {
		t.Error("existing 0→1 connection survived Isolate(0)")
	}
	if !echoes(c21) {
		t.Error("2→1 connection cut by Isolate(0)")
	}
	if conn, err := dialFrom(0, c.Proxies[2].Addr()); err == nil && echoes(conn) {
		t.Error("new 0→2 connection works while 0 is isolated")
	}
	if conn, err := dialFrom(1, c.Proxies[0].Addr()); err == nil && echoes(conn) {
		t.Error("new 1→0 connection works while 0 is isolated")
	}
	// Unknown sources (127.0.0.1) always pass.
	if conn, err := net.Dial("tcp", c.Proxies[0].Addr()); err != nil || !echoes(conn) {
		t.Errorf("connection from 127.0.0.1 refused: %v", err)
	}
	c.Heal()
	conn, err := dialFrom(0, c.Proxies[1].Addr())
	if err != nil || !echoes(conn) {
		t.Errorf("0→1 after Heal: %v", err)
	}
	acc, ref, cut := c.Proxies[1].Stats()
	if acc < 3 || ref != 0 || cut != 1 {
		t.Errorf("proxy 1 stats: accepted %d refused %d cut %d", acc, ref, cut)
	}
}

// TestClusterLifecycle starts a 3-node cluster and exercises the helpers.
func TestClusterLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	start := time.Now()
	c := StartCluster(t, 3, ClusterOptions{})
	t.Logf("cluster up with a leader in %v", time.Since(start))
	lead := c.Leader()
	f := c.Others(lead)[0]
	w := NewWallet(c.Nodes[f].Client(), DevKey(), DevChainID)
	w.Transfer(t, DevAddress, Gwei(1))
	h := c.WaitSameHead(10 * time.Second)
	if h.Number == 0 {
		t.Fatalf("head %v", h)
	}
	c.Nodes[f].Pause()
	if len(c.Live()) != 2 || !c.Nodes[f].Paused() {
		t.Fatalf("live %v after pause", c.Live())
	}
	c.Nodes[f].Resume()
	c.Nodes[lead].Kill()
	l2 := c.Leader()
	if l2 == lead {
		t.Fatalf("leader %d after killing it", l2)
	}
	c.Nodes[lead].StartAgain()
	c.WaitSameHead(30 * time.Second)
	c.Nodes[f].Pause() // resumed by the cleanup before the node stops
}
