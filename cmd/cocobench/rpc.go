package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// rpcClient is a minimal JSON-RPC 2.0 client over HTTP. It keeps its
// connections alive between requests and can post pre-encoded bodies, so the
// measured phase spends no time encoding.
type rpcClient struct {
	url string
	hc  *http.Client
}

// newHTTPClient returns an HTTP client that keeps up to conns persistent
// connections per host.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	if conns < 1 {
		conns = 1
	}
	tr := &http.Transport{
		Proxy: nil, // the benchmark talks to local nodes only
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        4 * conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

func newRPCClient(url string, hc *http.Client) *rpcClient {
	return &rpcClient{url: url, hc: hc}
}

// rpcError is the error object of a JSON-RPC response.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string {
	if len(e.Data) > 0 && string(e.Data) != "null" {
		return fmt.Sprintf("%s (code %d, data %s)", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (code %d)", e.Message, e.Code)
}

// isMethodNotFound tells whether err is the JSON-RPC "method not found" error.
func isMethodNotFound(err error) bool {
	var re *rpcError
	return errors.As(err, &re) && re.Code == -32601
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int    `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResponse struct {
	ID     *int            `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// post sends body and returns the response body. Any HTTP status other than
// 200 is an error.
func (c *rpcClient) post(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg := bytes.TrimSpace(data)
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, msg)
	}
	return data, nil
}

// Call performs one JSON-RPC call. A null result leaves result untouched.
func (c *rpcClient) Call(ctx context.Context, result any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: 1, Method: method, Params: params})
	if err != nil {
		return err
	}
	data, err := c.post(ctx, body)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	var resp rpcResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("%s: invalid response: %v", method, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("%s: %w", method, resp.Error)
	}
	return decodeResult(resp.Result, result)
}

func decodeResult(raw json.RawMessage, result any) error {
	if result == nil || len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, result)
}

// batchElem is one call of a batch request.
type batchElem struct {
	Method string
	Params []any
	Result any   // decoded into when the call succeeds
	Err    error // set per call after BatchCall returns
}

// BatchCall sends all elems in one JSON-RPC batch request. The returned error
// concerns the whole request; errors of single calls are in elem.Err.
func (c *rpcClient) BatchCall(ctx context.Context, elems []batchElem) error {
	if len(elems) == 0 {
		return nil
	}
	reqs := make([]rpcRequest, len(elems))
	for i, e := range elems {
		p := e.Params
		if p == nil {
			p = []any{}
		}
		reqs[i] = rpcRequest{JSONRPC: "2.0", ID: i, Method: e.Method, Params: p}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return err
	}
	data, err := c.post(ctx, body)
	if err != nil {
		return err
	}
	resps, err := parseBatchResponse(data, len(elems))
	if err != nil {
		return err
	}
	for i := range elems {
		r := resps[i]
		switch {
		case r == nil:
			elems[i].Err = errors.New("no response for this call in the batch")
		case r.Error != nil:
			elems[i].Err = r.Error
		default:
			elems[i].Err = decodeResult(r.Result, elems[i].Result)
		}
	}
	return nil
}

// parseBatchResponse decodes a batch response into a slice indexed by request
// id (requests are numbered 0..n-1). Servers may answer in any order. A
// single error object instead of an array (e.g. "batch too large") is
// returned as an error.
func parseBatchResponse(data []byte, n int) ([]*rpcResponse, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var single rpcResponse
		if err := json.Unmarshal(data, &single); err != nil {
			return nil, fmt.Errorf("invalid batch response: %v", err)
		}
		if single.Error != nil {
			return nil, single.Error
		}
		return nil, errors.New("batch answered with a single non-error object")
	}
	var list []rpcResponse
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("invalid batch response: %v", err)
	}
	out := make([]*rpcResponse, n)
	for i := range list {
		r := &list[i]
		if r.ID == nil || *r.ID < 0 || *r.ID >= n {
			if r.Error != nil {
				// An error without a usable id (e.g. a batch-level limit hit):
				// it concerns the request as a whole.
				return nil, r.Error
			}
			continue
		}
		out[*r.ID] = r
	}
	return out, nil
}
