// Package dashboard is the members' dashboard: a page in the browser,
// served by the node itself under /dashboard/ of its HTTP JSON-RPC server
// when --dashboard is given, from files embedded in the binary (web/:
// plain HTML, CSS and one JavaScript module, no build step, nothing
// fetched from elsewhere).
//
// Contract:
//   - The page reads only through the node's public JSON-RPC (coco_network,
//     coco_constitution, coco_proposals, coco_governance, eth_*), over the
//     same servers, sessions and gate as every other client: on a governed
//     network it signs in (coco_login, a Sign-In with Ethereum message the
//     wallet signs) and sees what that account may see, nothing more.
//   - Transactions (proposals, ballots) are encoded in the page and signed
//     and sent by the member's EIP-1193 wallet; the node never signs.
//   - The handler serves static files and config.json (the RPC and
//     WebSocket URLs and the chain id) only, with a Content-Security-Policy
//     that allows scripts, styles and connections to this node alone and
//     forbids framing (no clickjacking of vote buttons).
package dashboard
