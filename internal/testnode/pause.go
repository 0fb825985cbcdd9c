package testnode

import "syscall"

// Pause stops the running process with SIGSTOP: it keeps its sockets and
// memory but does nothing (it neither answers RPC nor sends heartbeats)
// until Resume. A paused node is resumed when it is stopped and when the
// test ends. Pausing a node that does not run fails the test.
func (n *Node) Pause() {
	n.t.Helper()
	p := n.running()
	if p == nil {
		n.t.Fatalf("testnode: pause: the node does not run")
	}
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		n.t.Fatalf("testnode: SIGSTOP: %v", err)
	}
	if !p.paused.Swap(true) {
		// Cleanups run last-registered first: this one runs before the
		// node's own cleanup stops it.
		n.t.Cleanup(p.resume)
	}
}

// Resume continues a node stopped by Pause (SIGCONT). Resuming a node that
// is not paused does nothing.
func (n *Node) Resume() {
	if p := n.running(); p != nil {
		p.resume()
	}
}

// Paused reports whether the running process is stopped by Pause.
func (n *Node) Paused() bool {
	p := n.running()
	return p != nil && p.paused.Load()
}

// resume sends SIGCONT if the process is paused.
func (p *process) resume() {
	if p.paused.Swap(false) {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
}
