// Package keyring keeps a node's ledger secrets: one 32-byte secret per
// epoch, under which the node's stores encrypt every file they write
// (package store derives a key per file from it).
//
// # Contract
//
//   - The secrets live in memory and in one file, sealed with the node's
//     TEE (tee.TEE.Seal: in SGX a key only this enclave code on this CPU
//     derives; in simulation a key from the operator secret). The file is
//     written (to a temporary file, fsynced, renamed) before a new secret
//     is used, so a node restarts alone with every secret it wrote under.
//     A file that does not unseal is an error, never an empty keyring.
//   - Epochs count from 1. Current is the highest epoch held; new files
//     are written under it. Secrets of older epochs are kept: files of an
//     old epoch stay readable until compaction rewrote them (and a node
//     keeps them for recovery records and audits).
//   - Add of an epoch already held with another secret fails: two
//     secrets for one epoch would be a fork of the network's keys.
//   - Export and Import carry the secrets between nodes, over the
//     attested node-to-node channel only (cocobackend's keys channel).
//   - Secrets never appear in logs or formatted output.
package keyring
