package recovery

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Binary formats (all integers big-endian, all lengths fixed by the header):
//
//	Record, version 1:
//	  "CGRR" | version u8 = 1 | epoch u64 | threshold u16 | n u16 |
//	  n × key (32) | threshold × commitment (32) | n × encrypted share (160) |
//	  wrapped (60)
//
//	DecryptedShare, version 1:
//	  "CGDS" | version u8 = 1 | epoch u64 | index u16 | record ID (32) |
//	  value (32) | proof (128)
//
// The encodings are canonical: a value has exactly one encoding, and decoding
// rejects any other length. Decoding checks structure only; cryptographic
// validity is checked by Record.Verify and Record.VerifyShare.
const (
	recordMagic  = "CGRR"
	shareMagic   = "CGDS"
	formatV1     = 1
	recordHeader = 4 + 1 + 8 + 2 + 2
	shareSize    = 4 + 1 + 8 + 2 + 32 + pointSize + proofSize
)

// encodeBody encodes everything but Wrapped.
func (r *Record) encodeBody() ([]byte, error) {
	if r == nil {
		return nil, invalidRecord("nil record")
	}
	if err := r.checkShape(false); err != nil {
		return nil, err
	}
	n, t := len(r.Keys), r.Threshold
	out := make([]byte, 0, recordHeader+n*PublicKeySize+t*commitSize+n*encShareSize+WrappedSize)
	out = append(out, recordMagic...)
	out = append(out, formatV1)
	out = binary.BigEndian.AppendUint64(out, r.Epoch)
	out = binary.BigEndian.AppendUint16(out, uint16(t))
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	for _, k := range r.Keys {
		out = append(out, k...)
	}
	for _, c := range r.Commits {
		out = append(out, c...)
	}
	for _, s := range r.Shares {
		out = append(out, s...)
	}
	return out, nil
}

// MarshalBinary returns the canonical binary encoding of the record.
func (r *Record) MarshalBinary() ([]byte, error) {
	if r == nil {
		return nil, invalidRecord("nil record")
	}
	if err := r.checkShape(true); err != nil {
		return nil, err
	}
	body, err := r.encodeBody()
	if err != nil {
		return nil, err
	}
	return append(body, r.Wrapped...), nil
}

// UnmarshalBinary decodes a record encoded by MarshalBinary. It checks the
// version and all lengths; on error r is left unchanged.
func (r *Record) UnmarshalBinary(data []byte) error {
	if len(data) < recordHeader {
		return invalidRecord("encoding too short (%d bytes)", len(data))
	}
	if string(data[:4]) != recordMagic {
		return invalidRecord("not a record encoding")
	}
	if data[4] != formatV1 {
		return invalidRecord("unsupported record format version %d", data[4])
	}
	epoch := binary.BigEndian.Uint64(data[5:13])
	t := int(binary.BigEndian.Uint16(data[13:15]))
	n := int(binary.BigEndian.Uint16(data[15:17]))
	if n < 1 || n > MaxMembers {
		return invalidRecord("%d members, want 1..%d", n, MaxMembers)
	}
	if t < 1 || t > n {
		return invalidRecord("threshold %d out of range 1..%d", t, n)
	}
	want := recordHeader + n*PublicKeySize + t*commitSize + n*encShareSize + WrappedSize
	if len(data) != want {
		return invalidRecord("encoding has %d bytes, want %d for %d members and threshold %d", len(data), want, n, t)
	}
	rest := data[recordHeader:]
	take := func(k int) []byte {
		b := bytes.Clone(rest[:k])
		rest = rest[k:]
		return b
	}
	out := Record{
		Epoch:     epoch,
		Threshold: t,
		Keys:      make([]PublicKey, n),
		Commits:   make([][]byte, t),
		Shares:    make([][]byte, n),
	}
	for i := range out.Keys {
		out.Keys[i] = take(PublicKeySize)
	}
	for j := range out.Commits {
		out.Commits[j] = take(commitSize)
	}
	for i := range out.Shares {
		out.Shares[i] = take(encShareSize)
	}
	out.Wrapped = take(WrappedSize)
	*r = out
	return nil
}

type recordJSON struct {
	Version   int      `json:"version"`
	Epoch     uint64   `json:"epoch"`
	Threshold int      `json:"threshold"`
	Keys      []string `json:"keys"`
	Commits   []string `json:"commits"`
	Shares    []string `json:"shares"`
	Wrapped   string   `json:"wrapped"`
}

func hexList[T ~[]byte](in []T) []string {
	out := make([]string, len(in))
	for i, b := range in {
		out[i] = hex.EncodeToString(b)
	}
	return out
}

func unhexList[T ~[]byte](what string, in []string) ([]T, error) {
	out := make([]T, len(in))
	for i, s := range in {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s %d is not valid hex", what, i)
		}
		out[i] = b
	}
	return out, nil
}

// MarshalJSON encodes the record as an object with hex strings:
// {"version":1,"epoch":…,"threshold":…,"keys":[…],"commits":[…],"shares":[…],"wrapped":"…"}.
func (r Record) MarshalJSON() ([]byte, error) {
	if err := r.checkShape(true); err != nil {
		return nil, err
	}
	return json.Marshal(recordJSON{
		Version:   formatV1,
		Epoch:     r.Epoch,
		Threshold: r.Threshold,
		Keys:      hexList(r.Keys),
		Commits:   hexList(r.Commits),
		Shares:    hexList(r.Shares),
		Wrapped:   hex.EncodeToString(r.Wrapped),
	})
}

// UnmarshalJSON decodes the output of MarshalJSON, rejecting unknown fields,
// other versions and wrong lengths; on error r is left unchanged.
func (r *Record) UnmarshalJSON(data []byte) error {
	var j recordJSON
	if err := strictJSON(data, &j); err != nil {
		return invalidRecord("%v", err)
	}
	if j.Version != formatV1 {
		return invalidRecord("unsupported record format version %d", j.Version)
	}
	out := Record{Epoch: j.Epoch, Threshold: j.Threshold}
	var err error
	if out.Keys, err = unhexList[PublicKey]("key", j.Keys); err != nil {
		return invalidRecord("%v", err)
	}
	if out.Commits, err = unhexList[[]byte]("commitment", j.Commits); err != nil {
		return invalidRecord("%v", err)
	}
	if out.Shares, err = unhexList[[]byte]("encrypted share", j.Shares); err != nil {
		return invalidRecord("%v", err)
	}
	if out.Wrapped, err = hex.DecodeString(j.Wrapped); err != nil {
		return invalidRecord("wrapped secret is not valid hex")
	}
	if err := out.checkShape(true); err != nil {
		return err
	}
	*r = out
	return nil
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func invalidShare(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidShare}, args...)...)
}

func (s *DecryptedShare) checkShape() error {
	if s == nil {
		return invalidShare("nil share")
	}
	if s.Index < 0 || s.Index >= MaxMembers {
		return invalidShare("index %d out of range 0..%d", s.Index, MaxMembers-1)
	}
	if len(s.Value) != pointSize {
		return invalidShare("value has %d bytes, want %d", len(s.Value), pointSize)
	}
	if len(s.Proof) != proofSize {
		return invalidShare("proof has %d bytes, want %d", len(s.Proof), proofSize)
	}
	return nil
}

// MarshalBinary returns the canonical binary encoding of the share.
func (s *DecryptedShare) MarshalBinary() ([]byte, error) {
	if err := s.checkShape(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, shareSize)
	out = append(out, shareMagic...)
	out = append(out, formatV1)
	out = binary.BigEndian.AppendUint64(out, s.Epoch)
	out = binary.BigEndian.AppendUint16(out, uint16(s.Index))
	out = append(out, s.RecordID[:]...)
	out = append(out, s.Value...)
	out = append(out, s.Proof...)
	return out, nil
}

// UnmarshalBinary decodes a share encoded by MarshalBinary; on error s is
// left unchanged.
func (s *DecryptedShare) UnmarshalBinary(data []byte) error {
	if len(data) != shareSize {
		return invalidShare("encoding has %d bytes, want %d", len(data), shareSize)
	}
	if string(data[:4]) != shareMagic {
		return invalidShare("not a decrypted-share encoding")
	}
	if data[4] != formatV1 {
		return invalidShare("unsupported share format version %d", data[4])
	}
	out := DecryptedShare{
		Epoch: binary.BigEndian.Uint64(data[5:13]),
		Index: int(binary.BigEndian.Uint16(data[13:15])),
	}
	copy(out.RecordID[:], data[15:47])
	out.Value = bytes.Clone(data[47 : 47+pointSize])
	out.Proof = bytes.Clone(data[47+pointSize:])
	if err := out.checkShape(); err != nil {
		return err
	}
	*s = out
	return nil
}

type shareJSON struct {
	Version  int    `json:"version"`
	Epoch    uint64 `json:"epoch"`
	Index    int    `json:"index"`
	RecordID string `json:"record"`
	Value    string `json:"value"`
	Proof    string `json:"proof"`
}

// MarshalJSON encodes the share as an object with hex strings.
func (s DecryptedShare) MarshalJSON() ([]byte, error) {
	if err := s.checkShape(); err != nil {
		return nil, err
	}
	return json.Marshal(shareJSON{
		Version:  formatV1,
		Epoch:    s.Epoch,
		Index:    s.Index,
		RecordID: hex.EncodeToString(s.RecordID[:]),
		Value:    hex.EncodeToString(s.Value),
		Proof:    hex.EncodeToString(s.Proof),
	})
}

// UnmarshalJSON decodes the output of MarshalJSON; on error s is left
// unchanged.
func (s *DecryptedShare) UnmarshalJSON(data []byte) error {
	var j shareJSON
	if err := strictJSON(data, &j); err != nil {
		return invalidShare("%v", err)
	}
	if j.Version != formatV1 {
		return invalidShare("unsupported share format version %d", j.Version)
	}
	out := DecryptedShare{Epoch: j.Epoch, Index: j.Index}
	id, err := hex.DecodeString(j.RecordID)
	if err != nil || len(id) != len(out.RecordID) {
		return invalidShare("record ID must be %d hex bytes", len(out.RecordID))
	}
	copy(out.RecordID[:], id)
	if out.Value, err = hex.DecodeString(j.Value); err != nil {
		return invalidShare("value is not valid hex")
	}
	if out.Proof, err = hex.DecodeString(j.Proof); err != nil {
		return invalidShare("proof is not valid hex")
	}
	if err := out.checkShape(); err != nil {
		return err
	}
	*s = out
	return nil
}
