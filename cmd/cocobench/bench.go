package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/log"
)

// measureConfig drives the measured phase.
type measureConfig struct {
	clients  []*rpcClient // one per node, for submission
	follow   *rpcClient   // for following blocks (first node)
	wsURL    string
	conns    int
	rate     float64 // tx/s, 0 = as fast as possible
	inflight int     // max sent-but-not-included txs, 0 = unlimited
	poll     time.Duration
	duration time.Duration // cap on the whole phase, 0 = none
	timeout  time.Duration // give up when nothing gets included for this long after submission

	profileURL     string // node pprof base URL, optional
	profileOut     string
	profileSeconds int
}

// measure submits the batches and follows the chain until every
// transaction that can still be included is, or a limit is hit. It returns
// the reason it stopped.
func measure(ctx context.Context, mc *measureConfig, tr *tracker, batches []*sendBatch, startBlock uint64) string {
	if mc.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, mc.duration)
		defer cancel()
	}
	followCtx, stopFollow := context.WithCancel(context.Background())
	defer stopFollow()

	start := time.Now()
	tr.begin(start)
	fl := newFollower(mc.follow, tr, startBlock, mc.poll, mc.wsURL)
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		fl.run(followCtx)
	}()

	var profWG sync.WaitGroup
	if mc.profileURL != "" && mc.profileOut != "" {
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			if err := fetchCPUProfile(mc.profileURL, mc.profileOut, mc.profileSeconds); err != nil {
				log.Warn("Could not fetch the node's CPU profile", "err", err)
			} else {
				log.Info("Node CPU profile written", "file", mc.profileOut, "seconds", mc.profileSeconds)
			}
		}()
	}

	subCtx, stopSubmit := context.WithCancel(ctx)
	defer stopSubmit()
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		submit(subCtx, mc, tr, batches, start)
		tr.noteProgress(tr.since(time.Now()))
	}()

	progress := time.NewTicker(2 * time.Second)
	defer progress.Stop()
	check := time.NewTicker(20 * time.Millisecond)
	defer check.Stop()

	reason := ""
	submitDone := false
	checked := ^uint64(0) // tracker version of the last completeness check
	for reason == "" {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				reason = "duration"
			} else {
				reason = "interrupted"
			}
		case <-submitted:
			submitted = nil
			submitDone = true
			sent, rejected, included, _ := tr.progress()
			log.Info("Submission finished", "sent", sent, "rejected", rejected, "included", included,
				"elapsed", time.Since(start).Round(time.Millisecond))
		case <-progress.C:
			sent, rejected, included, _ := tr.progress()
			log.Info("Progress", "sent", sent, "rejected", rejected, "included", included,
				"inflight", tr.inflight(), "head", fl.head.Load(), "processed", fl.processed.Load(),
				"elapsed", time.Since(start).Round(time.Millisecond))
		case <-check.C:
			if v := tr.version(); submitDone && v != checked {
				checked = v
				if tr.outstanding() == 0 {
					reason = "complete"
					continue
				}
			}
			// Sending a batch, or waiting for the --rate schedule, counts as
			// progress; so does any inclusion. A submission blocked by
			// --inflight on transactions that never land does not.
			_, _, _, last := tr.progress()
			if idle := time.Duration(tr.since(time.Now()) - last); idle > mc.timeout {
				log.Warn("No transaction included for too long; giving up", "idle", idle.Round(time.Millisecond), "outstanding", tr.outstanding())
				reason = "timeout"
			}
		}
	}
	stopSubmit()
	stopFollow()
	if submitted != nil {
		<-submitted
	}
	bg.Wait()
	profWG.Wait()
	return reason
}

// submit sends the batches over mc.conns parallel connections, paced by
// mc.rate and mc.inflight.
func submit(ctx context.Context, mc *measureConfig, tr *tracker, batches []*sendBatch, start time.Time) {
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, mc.conns); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bi := range work {
				b := batches[bi]
				tr.markSent(bi, tr.since(time.Now()), len(b.txs))
				txErrs, batchErr := sendOne(ctx, mc.clients[b.node], b)
				tr.markResult(b, bi, tr.since(time.Now()), batchErr, txErrs)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	queued := 0
	for bi, b := range batches {
		if mc.rate > 0 {
			due := start.Add(time.Duration(float64(queued) / mc.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
				tr.noteProgress(tr.since(time.Now()))
			}
		}
		for mc.inflight > 0 && tr.inflight()+len(b.txs) > mc.inflight {
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		select {
		case <-ctx.Done():
			return
		case work <- bi:
		}
		queued += len(b.txs)
	}
}

// sendOne posts one pre-encoded batch and maps the answers to its
// transactions.
func sendOne(ctx context.Context, rc *rpcClient, b *sendBatch) ([]error, error) {
	data, err := rc.post(ctx, b.body)
	if err != nil {
		return nil, err
	}
	resps, err := parseBatchResponse(data, len(b.txs))
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(b.txs))
	for k, r := range resps {
		switch {
		case r == nil:
			errs[k] = errors.New("no response for this transaction in the batch")
		case r.Error != nil:
			errs[k] = r.Error
		}
	}
	return errs, nil
}

// fetchCPUProfile downloads a CPU profile of the given length from a node's
// pprof endpoint (e.g. http://127.0.0.1:6060).
func fetchCPUProfile(baseURL, out string, seconds int) error {
	if seconds <= 0 {
		seconds = 10
	}
	base := strings.TrimRight(baseURL, "/")
	if !strings.Contains(base, "/debug/pprof") {
		base += "/debug/pprof"
	}
	url := fmt.Sprintf("%s/profile?seconds=%d", base, seconds)
	hc := &http.Client{Timeout: time.Duration(seconds)*time.Second + 30*time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeJSON writes v, indented, to path.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
