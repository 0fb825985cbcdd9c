package ethapi

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core"
)

// CocoAPI is the coco_ namespace: cocogeth's additions for clients.
type CocoAPI struct {
	b   Backend
	tee string // label of the node's TEE
}

// maxWait bounds coco_waitForBlock.
const maxWait = time.Minute

// WaitForBlock returns once this node has committed block number (at once
// if it already has), with the node's head number; an error after timeout
// milliseconds (default 10 s, at most 60 s). Reads on a node are served from
// what it has committed, so a client that wrote through one node and reads
// through another waits here for the block its receipt named.
func (api *CocoAPI) WaitForBlock(ctx context.Context, number math.HexOrDecimal64, timeoutMs *math.HexOrDecimal64) (hexutil.Uint64, error) {
	wait := 10 * time.Second
	if timeoutMs != nil {
		wait = time.Duration(*timeoutMs) * time.Millisecond
	}
	if wait > maxWait {
		wait = maxWait
	}
	heads := make(chan core.ChainHeadEvent, 16)
	sub := api.b.SubscribeChainHeadEvent(heads)
	defer sub.Unsubscribe()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		head := api.b.CurrentHeader().Number.Uint64()
		if head >= uint64(number) {
			return hexutil.Uint64(head), nil
		}
		select {
		case <-heads:
		case <-timer.C:
			return hexutil.Uint64(head), errors.New("timeout waiting for block")
		case <-ctx.Done():
			return hexutil.Uint64(head), ctx.Err()
		}
	}
}

// NodeInfo describes this node's role in the network.
type NodeInfo struct {
	ChainID      *hexutil.Big   `json:"chainId"`
	Head         hexutil.Uint64 `json:"head"`
	AppliedIndex hexutil.Uint64 `json:"appliedIndex"`
	Leader       bool           `json:"leader"`
	TEE          string         `json:"tee"`
	// NodeChannel says how node-to-node traffic is secured: "mutual TLS"
	// (node keys), "INSECURE plain TCP", or "none" on a single node.
	NodeChannel string `json:"nodeChannel"`
}

// NodeInfo returns the chain id, head, applied ledger index and whether
// this node orders blocks.
func (api *CocoAPI) NodeInfo() NodeInfo {
	info := NodeInfo{
		ChainID:      (*hexutil.Big)(api.b.ChainConfig().ChainID),
		Head:         hexutil.Uint64(api.b.CurrentHeader().Number.Uint64()),
		AppliedIndex: hexutil.Uint64(api.b.AppliedIndex()),
		Leader:       api.b.IsLeader(),
		TEE:          api.tee,
		NodeChannel:  api.b.NodeChannel(),
	}
	if info.TEE == "" {
		info.TEE = "none"
	}
	return info
}
