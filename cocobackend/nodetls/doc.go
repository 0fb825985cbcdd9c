// Package nodetls authenticates the channels between validating nodes
// (VNs): every node-to-node connection is mutual TLS 1.3, and each side
// proves it holds the node key that the network lists for its node id.
//
// # Threat model
//
// Anyone can open a TCP connection to a node's node-to-node port and send
// anything. Nothing read from such a connection is acted on before the peer
// is authenticated: the mux (cocobackend.Mux) runs the TLS handshake of
// this package first and hands a connection to Raft or to transaction
// forwarding only when Verify accepted the peer's certificate.
//
// # Certificates
//
// A node's secp256k1 node key (the one `cocogeth nodekey` prints and the
// genesis or the constitution lists) cannot sign TLS handshakes, so the node
// makes a fresh Ed25519 TLS key in memory at start and a self-signed,
// short-lived certificate for it (Lifetime, renewed at half-life). The
// certificate carries one extension (ExtensionOID) holding the node id, the
// certificate's expiry and a signature by the node key over
//
//	keccak256(rlp(["cocogeth node certificate v1", network, id, spki, notAfter]))
//
// where network is the genesis block hash and spki the certificate's
// DER-encoded public key. TLS proves the peer holds the TLS key; the
// extension proves the node key vouched for that TLS key, for this network,
// until notAfter. A certificate copied from another node is useless without
// its TLS key; a node key of another network signs another message.
//
// # Admission
//
// A Registry holds the admitted nodes (id → node public key). The node
// replaces its contents whenever the rules change (the constitution of a
// governed network, on every block that changes it); the mux then re-checks
// its open connections with Admit and closes those of nodes no longer
// listed, which cannot reconnect.
//
// # Attestation
//
// With Identity.TEE set, every certificate also carries the node's TEE
// report over the certificate's public key (AttestationOID: RLP [kind,
// report], report data tee.ReportData(spki)). When the registry's
// Attestation is Required, a peer is admitted only if that report
// verifies, binds the certificate's key, is not a debug enclave, and its
// kind and code identity are admitted (the constitution's TEE and code
// manifests, a node's pinned code; AnyCode on networks without a
// constitution). The proven kind and code ride in AuthPeer, so Admit
// re-checks open connections when the manifests change: a node whose code
// is voted out is cut off.
package nodetls
