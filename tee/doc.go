// Package tee is cocogeth's seam to the trusted execution environment
// (TEE): it makes an attestation report binding some data, verifies a
// peer's report into Claims, checks those claims against a Policy, seals
// and unseals node secrets, and says which TEE it is. Two kinds implement
// it, chosen at start with New:
//
//   - "sgx": Intel SGX through the ego runtime (packages enclave and
//     attestation). Needs cgo and an enclave started by `ego run`.
//   - "simulation": for machines without SGX (every machine here). Its
//     reports are verifiable and follow the same rules, so that every
//     verification rule runs in tests, but they prove nothing (below). It
//     is labelled everywhere: the kind is "simulation", every report starts
//     with the text "cocogeth simulation report (insecure)", and Label
//     says INSECURE for banners and node info.
//
// # Contract
//
//   - Report(data) binds 1..ReportDataSize bytes of data into a report;
//     the data is zero-padded to ReportDataSize (as SGX does). Nodes bind
//     ReportData(spki), the SHA-256 of their TLS certificate's DER public
//     key, the convention of ego's attested TLS, so a report copied into
//     another certificate does not match that certificate's key.
//   - Verify (the method, for the TEE's own kind, or the function, for any
//     kind this build knows) checks that a report is authentic and returns
//     its Claims. Claims.Kind is set by the verifier, never read from the
//     report. Verify applies no policy: a verified report of a debug
//     enclave, of unknown code or bound to another key is still verified.
//   - Check(claims, policy) applies the rules: kind in the TEE manifest,
//     data equal to the expected binding, code id in the code manifest,
//     signer, product, minimum security version, no debug unless allowed.
//     Each rule has its own sentinel error. A caller admits a peer only if
//     both Verify and Check return nil.
//   - Seal and Unseal protect node secrets at rest: authenticated
//     encryption with a version byte and a random nonce; Unseal of a blob
//     that was altered or sealed under another key fails with ErrUnseal.
//     No implementation ever seals under a zero or constant key: the sgx
//     kind refuses (ErrNotInEnclave) when the platform returns the all-zero
//     seal key that ego hands out, without an error, outside an enclave;
//     the simulation kind refuses an empty or all-zero operator secret.
//
// # Threat model
//
// Anyone can reach a node's ports and read or write its disk; only code
// inside an attested enclave of a voted code identity is trusted.
//
// With sgx, the report is signed by the CPU's quoting enclave and its
// chain of trust ends at Intel: a verified report proves that an enclave
// with the measured UniqueID (MRENCLAVE), signed by SignerID (MRSIGNER),
// bound the data. The seal key is derived by the CPU from the enclave's
// measurement (SealWithUniqueKey semantics), so another program or another
// build on the same machine cannot unseal, and the disk alone is useless.
//
// With simulation, nothing is rooted in hardware. A report is signed by an
// Ed25519 key made by the process at start, whose public key travels in the
// report; the signature detects a report altered in transit and the data
// binding detects a report moved to another TLS key, but anyone who runs
// (or edits) the simulation code can make a report claiming any code
// identity, signer, product or security version. The code identity is the
// SHA-256 of the running executable, which is what an honest operator
// runs, not a proof. In a node the report rides in the TLS certificate that
// the node key vouches for, so what a verifier learns is "the operator of
// a listed node key says it runs this code". Sealing derives its key from
// an operator secret (a 0600 file in the data directory): whoever reads
// that file reads the sealed secrets. Simulation is for tests and
// development; a constitution admits simulation nodes only if its TEE
// manifest lists "simulation" explicitly, and a production constitution
// must not.
package tee
