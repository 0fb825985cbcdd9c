package cocobackend

import (
	"strings"
	"testing"
)

// raft_addPeer on a network without governance refuses an id whose key the
// node-to-node channel does not admit (it could never connect), and on a
// governed network refuses every change: membership follows the votes.
func TestRaftAPIAddPeerRefusals(t *testing.T) {
	admits := func(id string) bool { return id == "vn3" }
	api := NewRaftAPI(nil, nil, false, admits)
	if ok, err := api.AddPeer("vn4", "127.0.0.1:1"); ok || err == nil || !strings.Contains(err.Error(), `node "vn4" is not among the genesis validators`) {
		t.Errorf("AddPeer(vn4) = %v, %v; want a refusal naming vn4", ok, err)
	}
	if ok, err := api.AddPeer("", "127.0.0.1:1"); ok || err == nil {
		t.Errorf("AddPeer without id = %v, %v", ok, err)
	}
	gov := NewRaftAPI(nil, nil, true, admits)
	for _, call := range []func() (bool, error){
		func() (bool, error) { return gov.AddPeer("vn3", "127.0.0.1:1") },
		func() (bool, error) { return gov.RemovePeer("vn3") },
	} {
		if ok, err := call(); ok || err != errGoverned {
			t.Errorf("governed membership change = %v, %v; want %v", ok, err, errGoverned)
		}
	}
}
