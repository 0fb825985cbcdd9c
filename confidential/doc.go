// Package confidential decides who a JSON-RPC caller is, so that the node
// can reveal data only to the parties a contract or the network admits.
//
// Callers prove their address in one of three ways, each verified by any
// node on its own (no secret is shared between nodes):
//   - a session: a Sign-In with Ethereum (EIP-4361) message signed with
//     personal_sign, exchanged by coco_login for a token (base64url of the
//     message and signature) that requests present as "Authorization:
//     Bearer <token>", as "?session=<token>" in the URL, or in the WebSocket
//     handshake; the message must name this chain, must not be issued in
//     the future, and must expire within the network's session lifetime;
//     verified tokens are cached, so a session costs one recovery;
//   - a signed call: an "auth" member in the call object of eth_call or
//     eth_estimateGas, an EIP-712 signature by "from" over the call
//     (domain {name "cocogeth", version "1", chainId}, type Call) anchored
//     to a canonical block at most 256 blocks old and an expiry;
//   - a transaction, by its signature, as always.
//
// A request without a proof is anonymous. A proof that does not hold is an
// error (*ProofError, code -32001) that says why; it never falls back to
// anonymous.
//
// Handler lifts sessions from HTTP requests into their context (and binds
// a WebSocket handshake's session to its connection; on a governed network
// the gate closes that connection when the session expires or its account
// stops being an actor); Gate implements
// ethapi.Authenticator for the JSON-RPC layer. Nothing else in the node
// knows about proofs.
package confidential
