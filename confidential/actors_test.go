package confidential

import "testing"

func TestClosedCalls(t *testing.T) {
	for _, c := range []struct {
		body          string
		batch, closed bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`, false, false},
		{`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}`, false, true},
		{` [{"id":1,"method":"eth_chainId"},{"id":2,"method":"coco_login"}]`, true, false},
		{`[{"id":1,"method":"eth_chainId"},{"id":2,"method":"eth_call"}]`, true, true},
		{`[]`, true, false},
		// Bodies that do not parse are the server's to answer.
		{`{"method":`, false, false},
		{`not json`, false, false},
	} {
		_, batch, closed := closedCalls([]byte(c.body))
		if closed != c.closed || (closed && batch != c.batch) {
			t.Errorf("%s: batch %v closed %v, want %v %v", c.body, batch, closed, c.batch, c.closed)
		}
	}
}
