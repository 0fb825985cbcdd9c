// Package recovery protects each epoch's 32-byte ledger secret so that any M
// of N members can recover it and fewer than M learn nothing about it. It uses
// Schoenmakers' publicly verifiable secret sharing (PVSS) as implemented by
// go.dedis.ch/kyber/v3/share/pvss, over the prime-order subgroup of Ed25519
// (order L, standard base point G).
//
// # Parties and what they hold
//
// Members: member i has a private recovery key x_i (a non-zero scalar,
// PrivateKey) and publishes X_i = x_i·G (PublicKey). Private keys never leave
// their members and are never combined; the package has no function that takes
// more than one PrivateKey.
//
// Enclave (the node): holds the ledger secret while running. It creates a
// Record per epoch with Protect, and at recovery combines members' decrypted
// shares with Recover. It never sees a member's private key.
//
// # Protect (dealing)
//
// H is a second generator derived by hashing a fixed string onto the curve, so
// nobody knows log_G(H). Protect picks a random scalar s and a random
// polynomial f of degree M-1 with f(0) = s, and publishes in the Record:
//
//   - Epoch, Threshold M, and Keys X_0..X_{N-1} (Keys[i] owns share index i,
//     evaluated at x = i+1);
//   - Commits: C_j = a_j·H for the coefficients a_j of f, so that anyone can
//     compute f(i+1)·H;
//   - Shares: Y_i = f(i+1)·X_i, each with a DLEQ proof that
//     log_H(f(i+1)·H) = log_{X_i}(Y_i), i.e. that Y_i encrypts the share that
//     the commitments define;
//   - Wrapped: nonce || AES-256-GCM(ledger secret) under the key
//     HKDF-SHA256(ikm = marshalled s·G, salt = record ID,
//     info = "cocogeth/recovery/v1/ledger-secret-wrap"), with the record ID as
//     additional data. The record ID is SHA-256 over a domain tag and the
//     binary encoding of every other field, so the wrapped secret is bound to
//     the epoch, threshold, member keys, commitments and encrypted shares.
//
// The value that M members recover is not s and not the ledger secret, but
// the group element s·G; it is hashed (HKDF) to the key that unwraps the
// ledger secret. s itself is never reconstructed by anyone.
//
// Record.Verify lets anyone check, from public data only, that the keys are
// valid and distinct, 1 <= M <= N, and that every encrypted share is
// consistent with its member key and the commitments, so any M members will
// recover the same s·G.
//
// # Recovery
//
// Each member runs Record.DecryptShare with its own key: it computes
// S_i = x_i⁻¹·Y_i = f(i+1)·G and a Chaum-Pedersen (DLEQ) proof that
// log_G(X_i) = log_{S_i}(Y_i). The proof's Fiat-Shamir challenge covers G,
// X_i, S_i, Y_i, the proof commitments, the record ID, the epoch and the
// index, so a DecryptedShare is only accepted for the record it was made for.
// The enclave checks each share with Record.VerifyShare, and Record.Recover
// Lagrange-interpolates M valid shares in the exponent to obtain s·G, derives
// the key and opens Wrapped (the GCM tag is checked). Invalid, foreign and
// duplicate shares are ignored and not counted; with fewer than M valid ones
// Recover returns a *NotEnoughError saying how many more are needed.
//
// # What is public, and what M-1 members learn
//
// Everything in a Record is public and may be stored and replicated in the
// clear. A coalition of up to M-1 members (together with everyone else's
// public data) learns its own shares f(i+1)·G and nothing about s·G: M-1
// points of a degree M-1 polynomial leave f(0) undetermined, and under the
// decisional Diffie-Hellman assumption the commitments (made with base H) and
// the other members' encrypted shares do not help. Hence the wrapping key, and
// the ledger secret, stay hidden. This is computational secrecy (DDH on
// Ed25519), not information-theoretic.
//
// # Threats and limits
//
//   - Decrypted shares are sensitive. Unlike textbook PVSS, where the recovered
//     value may be published, here anyone holding M valid decrypted shares of
//     a record can compute s·G and unwrap the ledger secret. Members must send
//     DecryptedShares only to the enclave over an authenticated, confidential
//     channel (for example attested TLS), never post them publicly. A share
//     stays valid for its record forever, so a share given to a compromised
//     node can be used later.
//   - Dealer trust. Verify proves the shares are consistent, but cannot prove
//     that Wrapped holds the real ledger secret under s·G: only the enclave
//     that ran Protect knows. A mismatch shows up only at recovery, as
//     ErrUnwrap. The enclave must also use a good random source for Protect.
//   - Verify is relative to the keys and threshold listed in the record: it
//     shows the record is internally consistent, not that these are the
//     right members. Members and operators must check that Keys and
//     Threshold are the approved member set (a member finds its own index
//     with IndexOf).
//   - kyber v3.1.0's dleq.Proof.Verify checks the verification equations but
//     not that the challenge is the hash of the transcript, and the challenge
//     of pvss.DecShare's proof does not include the base S_i. This package
//     therefore recomputes the batch challenge of the encryption proofs and
//     uses its own context-bound challenge for decryption proofs; without
//     that, anyone could forge share proofs, and a member could "prove" a
//     wrong decryption and silently sabotage recovery.
//   - Compromise of M members' private keys exposes the ledger secret of every
//     epoch whose Record the attacker can read. Replacing keys protects only
//     new epochs; old records must be re-protected (or deleted) to revoke
//     old keys. Fewer than M cooperating members means the secret is lost:
//     choose M so that enough members remain available.
//   - Every untrusted point is checked to be a canonical encoding in the
//     prime-order subgroup and every scalar to be canonical, so encodings are
//     unique. Go cannot reliably erase secrets from memory; key material is
//     cleared on a best-effort basis only. Security rests on the discrete
//     logarithm problem, which a quantum computer would break.
package recovery
